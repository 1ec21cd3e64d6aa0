/**
 * The series read from the running server when scraped, not counted as
 * requests go (`metrics.ts` counts those): queue depth, open connections,
 * devices by state and by update state, readiness, the MQTT broker's state
 * and outages, engine and listener Worker restarts. Each reads one `MetricSources` function;
 * one left out reads as zero (or, for MQTT, no series).
 *
 * @example
 * ```ts
 * import { registerSourceMetrics } from "./sources.ts";
 * import { Registry } from "prom-client";
 *
 * const registry = new Registry();
 * registerSourceMetrics(registry, { queueDepth: () => 3, ready: () => true });
 * console.log(await registry.metrics()); // ... mnist_queue_depth 3 ... mnist_ready 1 ...
 * ```
 * @module
 */
import { Counter, Gauge, type Registry } from "prom-client";

/** Live values read at scrape time. */
export interface MetricSources {
  /** Digits waiting for a run. */
  queueDepth?: () => number;
  /** Engine workers replaced since start. */
  engineRestarts?: () => number;
  /** Listener Workers (`--listeners N`) started in place of a failed one since start. */
  listenerRestarts?: () => number;
  /** Open connections by protocol. */
  connections?: () => Record<string, number>;
  /** Readiness, as `GET /v2/health/ready` answers it. */
  ready?: () => boolean;
  /** Liveness, as `GET /v2/health/live` answers it. */
  live?: () => boolean;
  /** The MQTT broker's state, or null when `--mqtt` is off. */
  mqtt?: () => { url: string; connected: boolean; outages: number } | null;
  /** Devices in the fleet registry by state (`online`, `silent`). */
  devices?: () => Record<string, number>;
  /** Devices by board code update state (`offered` ... `rolled_back`). */
  updates?: () => Record<string, number>;
  /** Devices the fleet registry dropped at `--max-devices` since start. */
  devicesEvicted?: () => number;
}

/** Adds the scrape-time series to `registry`. */
export function registerSourceMetrics(registry: Registry, sources: MetricSources): void {
  const registers = [registry];
  new Gauge({
    name: "mnist_queue_depth",
    help: "Digits waiting for an engine run",
    registers,
    collect() {
      this.set(sources.queueDepth?.() ?? 0);
    },
  });
  new Gauge({
    name: "mnist_connections_open",
    help: "Open client connections on the board port, by protocol",
    labelNames: ["protocol"] as const,
    registers,
    collect() {
      this.reset();
      for (const [protocol, n] of Object.entries(sources.connections?.() ?? {})) {
        this.set({ protocol }, n);
      }
    },
  });
  // Devices counted by a state: aggregates only, per-device figures are in the fleet views.
  const byState = (name: string, help: string, counts?: () => Record<string, number>) =>
    new Gauge({
      name,
      help,
      labelNames: ["state"] as const,
      registers,
      collect() {
        for (const [state, n] of Object.entries(counts?.() ?? {})) this.set({ state }, n);
      },
    });
  byState(
    "mnist_devices",
    "Devices in the fleet registry, by state (online, silent); per-device figures are in /v2/fleet/devices",
    sources.devices,
  );
  byState(
    "mnist_device_updates",
    "Devices by board code update state (offered, downloading, verified, updated, failed, rolled_back); per device in /v2/fleet/devices",
    sources.updates,
  );
  new Gauge({
    name: "mnist_ready",
    help: "1 while GET /v2/health/ready answers 200",
    registers,
    collect() {
      this.set(sources.ready?.() ? 1 : 0);
    },
  });
  new Gauge({
    name: "mnist_live",
    help:
      "1 while GET /v2/health/live answers 200 (0: a listener Worker could not be stopped; restart)",
    registers,
    collect() {
      this.set((sources.live?.() ?? true) ? 1 : 0);
    },
  });
  new Gauge({
    name: "mnist_mqtt_connected",
    help:
      "1 while the MQTT broker (--mqtt) is connected, 0 while it is away; absent without --mqtt",
    labelNames: ["broker"] as const,
    registers,
    collect() {
      this.reset();
      const state = sources.mqtt?.();
      if (state) this.set({ broker: state.url }, state.connected ? 1 : 0);
    },
  });
  let outagesSeen = 0;
  new Counter({
    name: "mnist_mqtt_outages_total",
    help: "Times the MQTT broker went away since start (each reconnects with back-off)",
    labelNames: ["broker"] as const,
    registers,
    collect() {
      const state = sources.mqtt?.();
      if (state && state.outages >= outagesSeen) {
        this.inc({ broker: state.url }, state.outages - outagesSeen);
        outagesSeen = state.outages;
      }
    },
  });
  counterOf(
    registry,
    "mnist_engine_restarts_total",
    "Engine workers replaced (a hung or failed run)",
    sources.engineRestarts,
  );
  counterOf(
    registry,
    "mnist_listener_restarts_total",
    "Listener Workers (--listeners N) started in place of a failed one",
    sources.listenerRestarts,
  );
  counterOf(
    registry,
    "mnist_devices_evicted_total",
    "Devices the fleet registry forgot at --max-devices (the tenth heard from least recently)",
    sources.devicesEvicted,
  );
}

/** A counter read from a running total at scrape time. */
function counterOf(registry: Registry, name: string, help: string, total?: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = total?.() ?? 0;
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}
