/**
 * A device as the fleet views show it (`GET /v2/fleet/devices`, the fleet
 * page, the dashboard): the JSON of one device, and the words its fields use
 * for how the server knows the device and whether it is online.
 *
 * @example
 * ```ts
 * import { DEVICE_STATES } from "./device_view.ts";
 *
 * console.log(DEVICE_STATES.join(", ")); // "online, silent"
 * ```
 * @module
 */
import type { DeviceUpdateView } from "./_device_updates.ts";

/** How the server knows a device: its token's name, the id it sent, or only its address. */
export type IdentifiedBy = "token" | "device" | "address";
/** `silent`: no request for longer than the registry's `silentAfterMs`. */
export type DeviceState = "online" | "silent";
export const DEVICE_STATES: readonly DeviceState[] = ["online", "silent"];

/** One device as the fleet views show it (JSON). */
export interface DeviceView {
  id: string;
  state: DeviceState;
  identified_by: IdentifiedBy;
  address: string;
  protocol: string;
  firmware: string | null;
  model_version: number | null;
  requests: number;
  errors: number;
  errors_by_code: Record<string, number>;
  /** Over the device's last 64 requests, in ms. */
  latency_p50_ms: number | null;
  latency_p99_ms: number | null;
  last_digit: number | null;
  last_score: number | null;
  /** ISO 8601. */
  first_seen: string;
  last_seen: string;
  /** Requests in each of the last 60 minutes, oldest first (the current minute last). */
  requests_per_minute: number[];
  /** Its board code update (`updates.ts`), null when it never had one. */
  update: DeviceUpdateView | null;
}
