/**
 * One device's figures as the fleet registry keeps them: laid out for a
 * cheap update on every request (a ring of its last 64 latencies, a ring of
 * requests per minute over the last hour), and turned into the view the
 * fleet's pages and API show. Only `registry.ts` holds records.
 *
 * @example
 * ```ts
 * import { DeviceRecord, recordView } from "./_device_record.ts";
 *
 * const d = new DeviceRecord("board-7", "device", Date.now());
 * console.log(recordView(d, Date.now(), "online", null).requests); // 0
 * ```
 * @module
 */
import type { DeviceState, DeviceView, IdentifiedBy } from "./device_view.ts";
import type { DeviceUpdateView } from "./_device_updates.ts";

export const LATENCIES = 64;
const MINUTES = 60;
export const MINUTE_MS = 60_000;

/** One device's figures, laid out for a cheap update on every request. */
export class DeviceRecord {
  by: IdentifiedBy;
  firstSeen: number;
  lastSeen: number;
  address = "";
  protocol = "";
  firmware = "";
  modelVersion: number | null = null;
  requests = 0;
  errors = 0;
  errorsByCode: Record<string, number> | null = null;
  lastDigit: number | null = null;
  lastScore: number | null = null;
  /** The last 64 latencies (ms), a ring; `requests` says how many are filled. */
  latency = new Float32Array(LATENCIES);
  /** Requests per minute, indexed by minute modulo 60; `minute` is the last one written. */
  perMinute: Uint16Array | Uint32Array = new Uint16Array(MINUTES);
  minute = 0;
  /** The peer whose address was last parsed, so a connection's requests parse it once. */
  peer = "";

  constructor(readonly id: string, by: IdentifiedBy, now: number) {
    this.by = by;
    this.firstSeen = this.lastSeen = now;
    this.minute = Math.floor(now / MINUTE_MS);
  }
}

/** Counts one request in the device's minute of `now`. */
export function countMinute(d: DeviceRecord, now: number): void {
  const minute = Math.floor(now / MINUTE_MS);
  if (minute !== d.minute) clearMinutes(d, minute);
  const slot = minute % MINUTES;
  // 16 bits a minute hold a board's traffic; a busier id (an address many legacy or HTTP
  // clients share) gets 32 when it passes 65,535 in a minute, instead of wrapping to 0.
  if (d.perMinute[slot] === 0xffff && d.perMinute instanceof Uint16Array) {
    d.perMinute = Uint32Array.from(d.perMinute);
  }
  d.perMinute[slot]++;
}

/** Zeroes the minutes between a device's last one and `minute`, which becomes its last. */
function clearMinutes(d: DeviceRecord, minute: number): void {
  if (minute - d.minute >= MINUTES) d.perMinute.fill(0);
  else for (let m = d.minute + 1; m <= minute; m++) d.perMinute[m % MINUTES] = 0;
  d.minute = minute;
}

/**
 * The device as the fleet views show it: `state` is the registry's
 * (`DeviceRegistry.stateOf`), `update` its board code update, if any.
 */
export function recordView(
  d: DeviceRecord,
  now: number,
  state: DeviceState,
  update: DeviceUpdateView | null,
): DeviceView {
  const filled = Math.min(d.requests, LATENCIES);
  const latencies = d.latency.slice(0, filled).sort();
  const at = (q: number) => filled ? round3(latencies[Math.ceil(q * filled) - 1]) : null;
  const current = Math.floor(now / MINUTE_MS);
  const perMinute: number[] = [];
  for (let m = current - MINUTES + 1; m <= current; m++) {
    // Minutes after the device's last one, or an hour or more before it, held nothing.
    perMinute.push(m > d.minute || d.minute - m >= MINUTES ? 0 : d.perMinute[m % MINUTES]);
  }
  return {
    id: d.id,
    state,
    identified_by: d.by,
    address: d.address,
    protocol: d.protocol,
    firmware: d.firmware || null,
    model_version: d.modelVersion,
    requests: d.requests,
    errors: d.errors,
    errors_by_code: { ...d.errorsByCode },
    latency_p50_ms: at(0.5),
    latency_p99_ms: at(0.99),
    last_digit: d.lastDigit,
    last_score: d.lastScore === null ? null : round3(d.lastScore),
    first_seen: new Date(d.firstSeen).toISOString(),
    last_seen: new Date(d.lastSeen).toISOString(),
    requests_per_minute: perMinute,
    update,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
