/**
 * Where every finished request and every engine run is reported, whatever
 * the protocol: it feeds the Prometheus metrics, the traffic window (the
 * periodic log line and the dashboard's rates), the fleet registry and its
 * hour of traffic per minute, and the last digits. It logs each refused or
 * failed request at `info`, a few a second (`refusal_log.ts`).
 *
 * @example
 * ```ts
 * import { Monitor } from "./monitor.ts";
 * import { Logger } from "../log.ts";
 * import { ServerMetrics } from "../metrics/metrics.ts";
 *
 * const monitor = new Monitor({ log: new Logger("info"), metrics: new ServerMetrics({ model: "mnist", version: "1" }) });
 * monitor.request({
 *   protocol: "framed", inference: true, status: 0, digits: 1, durationMs: 0.4, queueMs: 0.1,
 *   computeMs: 0.2, model: "mnist", version: 1, bytesIn: 800, bytesOut: 90, peer: "127.0.0.1:5000",
 * });
 * monitor.run("mnist", 1, 1, 0.2);
 * console.log(monitor.snapshot().traffic.requests); // 1
 * monitor.close();
 * ```
 * @module
 */
import { statusName } from "../../shared/errors.ts";
import { tableDefault } from "../config.ts";
import { Logger } from "../log.ts";
import { type RequestFigures, ServerMetrics } from "../metrics/metrics.ts";
import { addressOf, DeviceRegistry, type DeviceSighting } from "../fleet/registry.ts";
import type { DeviceView, IdentifiedBy } from "../fleet/device_view.ts";
import { type MinuteFigures, TrafficSeries } from "../fleet/series.ts";
import { type DigitSample, RecentDigits } from "./devices.ts";
import { ModelStats, type RequestOutcome } from "./model_stats.ts";
import { RefusalLog } from "./refusal_log.ts";
import { type TrafficSummary, TrafficWindow } from "./window.ts";

/** One digit of a request, with what the model said. */
export interface DigitSeen {
  digitU8: ArrayLike<number> | null;
  digit: ArrayLike<number> | null;
  predicted: number;
  /** The predicted digit's score. */
  score: number;
}

/** One finished request: the figures metrics need, and who sent what. */
export interface RequestRecord extends RequestFigures {
  /** The client's `host:port` (its real address behind a trusted proxy). */
  peer: string;
  /** The device's name from the token file, when tokens are on. */
  device?: string | null;
  /** The device's id in the fleet (see `RequestEvent.deviceId`); absent: `addr:<address>`. */
  deviceId?: string;
  identifiedBy?: IdentifiedBy;
  /** Firmware name and version (`client` field), when the request or its connection had one. */
  client?: string | null;
  /** Why it failed, for the log (a sentence). */
  error?: string;
  /** Request id on the wire, or the HTTP request's `id`. */
  id?: string | number;
  /** Its digits with their predictions (the dashboard keeps the last few). */
  samples?: DigitSeen[];
}

/** What the dashboard's JSON route answers. */
export interface Snapshot {
  time: number;
  uptimeSeconds: number;
  ready: boolean;
  queueDepth: number;
  connections: Record<string, number>;
  /** The MQTT broker's state, or null when `--mqtt` is off. */
  mqtt: MqttSnapshot | null;
  traffic: TrafficSummary;
  /** Failed requests by code since start. */
  errorsTotal: Record<string, number>;
  requestsTotal: number;
  /** The devices heard from most recently (the fleet views list them all). */
  devices: DeviceView[];
  devicesSeen: number;
  devicesSilent: number;
  /** The fleet's requests, errors and latency per minute over the last hour. */
  series: MinuteFigures[];
  digits: DigitSample[];
  /** Shadows and canaries running, with their figures. */
  rollouts: unknown[];
}

/** Live values the monitor reads. */
export interface MonitorSources {
  queueDepth?: () => number;
  connections?: () => Record<string, number>;
  ready?: () => boolean;
  mqtt?: () => MqttSnapshot | null;
  rollouts?: () => unknown[];
}

/** The MQTT broker as the dashboard shows it. */
export interface MqttSnapshot {
  url: string;
  group: string;
  connected: boolean;
  /** When the state last changed (ms since the epoch). */
  since: number;
  outages: number;
  inFlight: number;
}

export interface MonitorOptions {
  log: Logger;
  metrics: ServerMetrics;
  sources?: MonitorSources;
  /** Seconds between traffic summary lines while requests flow, and the window's span (default 10). */
  summaryEverySeconds?: number;
  /** Refused/failed request lines per second before they are suppressed (default 5). */
  maxLinesPerSecond?: number;
  /** A device with no request for this long is silent (`--device-silent-after`). */
  silentAfterMs?: number;
  /** A device with no request for this long is forgotten (`--device-forget-after`). */
  forgetAfterMs?: number;
  /** Devices kept at most (`--max-devices`). */
  maxDevices?: number;
}

function formatCounts(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([code, n]) => `${code}:${n}`);
  return parts.length ? parts.join(",") : "none";
}

/** Collects every request and run; see the module doc. */
export class Monitor {
  readonly metrics: ServerMetrics;
  readonly window: TrafficWindow;
  /** Every device heard from (the fleet views). */
  readonly fleet: DeviceRegistry;
  /** The fleet's traffic per minute over the last hour. */
  readonly series = new TrafficSeries();
  readonly digits = new RecentDigits(16);
  /** Triton's statistics extension, per model version. */
  readonly modelStats = new ModelStats();
  #log: Logger;
  #sources: MonitorSources;
  #started = Date.now();
  #errorsTotal: Record<string, number> = {};
  #requestsTotal = 0;
  #refusals: RefusalLog;
  // Every request fills these two and hands them on (their readers keep no reference): no objects per request.
  #outcome: RequestOutcome = { ok: true, digits: 0, queueNs: 0, computeNs: 0, totalNs: 0 };
  #sighting: DeviceSighting = {
    id: "",
    by: "address",
    peer: "",
    protocol: "",
    firmware: "",
    code: "",
    totalMs: 0,
    modelVersion: null,
    predicted: null,
    score: null,
  };
  #summaryTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: MonitorOptions) {
    this.#log = options.log;
    this.metrics = options.metrics;
    this.#sources = options.sources ?? {};
    this.#refusals = new RefusalLog(options.log, options.maxLinesPerSecond ?? 5);
    const every = options.summaryEverySeconds ?? 10;
    this.window = new TrafficWindow(every);
    this.fleet = new DeviceRegistry({
      silentAfterMs: options.silentAfterMs ?? tableDefault("device-silent-after") * 1000,
      forgetAfterMs: options.forgetAfterMs ?? tableDefault("device-forget-after") * 1000,
      maxDevices: options.maxDevices ?? tableDefault("max-devices"),
    });
    this.#summaryTimer = setInterval(() => this.#summary(), every * 1000);
    Deno.unrefTimer(this.#summaryTimer);
  }

  /**
   * While the server warms itself before it is announced, requests and runs
   * go to this throwaway twin instead: the same code counts them, so that
   * code is compiled before the first client, and nothing of the warm-up is
   * counted here.
   */
  #twin: Monitor | null = null;
  /**
   * When the last warm-up ended (`performance.now()`); -Infinity: none did.
   * A double from the start, as `performance.now()` is: a field that goes
   * from a small integer to a double gives the monitor a new hidden class,
   * and V8 throws away the code compiled for the old one at the first
   * request after the warm-up.
   */
  #warmUpEndedAt = -Infinity;

  /** True while the server's own warm-up runs (`warmUpStarted`): nothing reported is counted. */
  get quiet(): boolean {
    return this.#twin !== null;
  }

  /**
   * Whether a request that ends now after `durationMs` is the warm-up's: it
   * began while the server warmed (a reply the engine gave after the
   * warm-up ended still is), so it is not counted, nor told to anyone.
   */
  fromWarmUp(durationMs: number): boolean {
    return this.#twin !== null || performance.now() - durationMs < this.#warmUpEndedAt;
  }

  /** From now until `warmUpEnded`, reports go to a throwaway twin. */
  warmUpStarted(): void {
    if (this.#twin) return;
    this.#twin = new Monitor({
      log: new Logger("error", () => {}),
      metrics: new ServerMetrics(null),
    });
  }

  /** Ends the warm-up: the twin and everything it counted are dropped. */
  warmUpEnded(): void {
    if (!this.#twin) return;
    this.#twin.close();
    this.#twin = null;
    this.#warmUpEndedAt = performance.now();
  }

  /** Reports a finished request (the request handler's observer hook calls this). */
  request(event: RequestRecord): void {
    if (this.fromWarmUp(event.durationMs)) return this.#twin?.request(event);
    this.metrics.observeRequest(event);
    if (event.inference && event.model !== "" && event.version !== null) {
      const outcome = this.#outcome;
      outcome.ok = event.status === 0;
      outcome.digits = event.digits;
      outcome.queueNs = event.queueMs * 1e6;
      outcome.computeNs = event.computeMs * 1e6;
      outcome.totalNs = event.durationMs * 1e6;
      this.modelStats.request(event.model, event.version, outcome);
    }
    const code = statusName(event.status);
    this.#requestsTotal++;
    this.window.request(event.durationMs, code, event.digits);
    this.series.request(code, event.durationMs);
    const last = event.samples?.at(-1);
    const sighting = this.#sighting;
    sighting.id = event.deviceId ?? "addr:" + addressOf(event.peer);
    sighting.by = event.identifiedBy ?? "address";
    sighting.peer = event.peer;
    sighting.protocol = event.protocol;
    sighting.firmware = event.client ?? "";
    sighting.code = code;
    sighting.totalMs = event.durationMs;
    sighting.modelVersion = event.version;
    sighting.predicted = last?.predicted ?? null;
    sighting.score = last?.score ?? null;
    this.fleet.record(sighting);
    for (const s of event.samples ?? []) {
      this.digits.push(s.digitU8, s.digit, s.predicted, s.score, event.protocol);
    }
    if (event.status !== 0) {
      this.#errorsTotal[code] = (this.#errorsTotal[code] ?? 0) + 1;
      this.#refusals.refused(event, code);
    }
  }

  /** Reports an engine run of a model version (the queue calls this once per run). */
  run(model: string, version: number, batchSize: number, runMs: number): void {
    if (this.fromWarmUp(runMs)) return this.#twin?.run(model, version, batchSize, runMs);
    this.metrics.observeRun(model, version, batchSize);
    this.modelStats.run(model, version, batchSize, runMs * 1e6);
    this.window.run(batchSize);
  }

  /** A model's served version changed (`from` or `to` null: loaded, unloaded). */
  modelSwapped(model: string, from: number | null, to: number | null): void {
    if (from !== null) this.modelStats.forget(model, from);
    if (to !== null) {
      this.metrics.modelServed(model, to);
      this.modelStats.track(model, to);
    }
  }

  /** The dashboard's figures. */
  snapshot(deviceLimit = 100): Snapshot {
    const counts = this.fleet.counts();
    return {
      time: Date.now(),
      uptimeSeconds: (Date.now() - this.#started) / 1000,
      ready: this.#sources.ready?.() ?? true,
      queueDepth: this.#sources.queueDepth?.() ?? 0,
      connections: this.#sources.connections?.() ?? {},
      mqtt: this.#sources.mqtt?.() ?? null,
      traffic: this.window.summary(),
      errorsTotal: { ...this.#errorsTotal },
      requestsTotal: this.#requestsTotal,
      devices: this.fleet.list({}, deviceLimit),
      devicesSeen: counts.online + counts.silent,
      devicesSilent: counts.silent,
      series: this.series.minutes(),
      digits: this.digits.list(),
      rollouts: this.#sources.rollouts?.() ?? [],
    };
  }

  /** Stops the timers. */
  close(): void {
    clearInterval(this.#summaryTimer);
    this.#refusals.close();
  }

  /** The periodic line, written only while requests flow. */
  #summary(): void {
    const s = this.window.summary();
    if (s.requests === 0) return;
    const connections = Object.values(this.#sources.connections?.() ?? {}).reduce(
      (a, b) => a + b,
      0,
    );
    this.#log.info("traffic", {
      req_s: s.requestsPerSecond.toFixed(1),
      p50_ms: s.p50Ms?.toFixed(3),
      p99_ms: s.p99Ms?.toFixed(3),
      mean_batch: s.meanBatch?.toFixed(1),
      errors: formatCounts(s.errors),
      connections,
      queue: this.#sources.queueDepth?.() ?? 0,
    });
  }
}
