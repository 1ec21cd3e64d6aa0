/**
 * What the dashboard's JSON route answers (`Monitor.snapshot`), and the live
 * values of the server the monitor reads for it (`MonitorSources`), the
 * MQTT broker's state among them.
 *
 * @module
 */
import type { DeviceView } from "../fleet/device_view.ts";
import type { MinuteFigures } from "../fleet/series.ts";
import type { DigitSample } from "./devices.ts";
import type { TrafficSummary } from "./window.ts";

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
