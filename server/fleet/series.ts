/**
 * The whole fleet's traffic over the last hour, kept by the server in
 * one-minute slots, so the fleet page shows history after a reload:
 * requests, errors by code, and latency p50/p99 (from a histogram with
 * buckets 5% wide, so a percentile is within 5% of the true one).
 *
 * @example
 * ```ts
 * import { TrafficSeries } from "./series.ts";
 *
 * const series = new TrafficSeries();
 * series.request("OK", 1.5);
 * series.request("SERVER_BUSY", 0.2);
 * const last = series.minutes().at(-1)!;
 * console.log(last.requests, last.errors); // 2 { SERVER_BUSY: 1 }
 * ```
 * @module
 */

const MINUTES = 60;
const MINUTE_MS = 60_000;
const RATIO = 1.05;
const MIN_MS = 0.001;
const BUCKETS = Math.ceil(Math.log(1e5 / MIN_MS) / Math.log(RATIO)) + 1;
const LOG_RATIO = Math.log(RATIO);

function bucketOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_RATIO));
}

/** One minute of the fleet's traffic (JSON). */
export interface MinuteFigures {
  /** The minute's start, ISO 8601. */
  minute: string;
  requests: number;
  /** Failed requests by code. */
  errors: Record<string, number>;
  /** In ms; null in a minute without requests. */
  p50_ms: number | null;
  p99_ms: number | null;
}

interface Slot {
  minute: number;
  requests: number;
  errors: Map<string, number>;
  latency: Uint32Array;
}

/** Requests, errors and latency per minute over the last hour. */
export class TrafficSeries {
  #slots: Slot[] = [];
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Counts one request by its status name and its time in ms. */
  request(code: string, ms: number): void {
    const slot = this.#slot(Math.floor(this.#now() / MINUTE_MS));
    slot.requests++;
    slot.latency[bucketOf(ms)]++;
    if (code !== "OK") slot.errors.set(code, (slot.errors.get(code) ?? 0) + 1);
  }

  /** The last 60 minutes, oldest first; the current minute last. */
  minutes(): MinuteFigures[] {
    const current = Math.floor(this.#now() / MINUTE_MS);
    const out: MinuteFigures[] = [];
    for (let m = current - MINUTES + 1; m <= current; m++) {
      const slot = this.#slots[m % MINUTES];
      const live = slot && slot.minute === m;
      out.push({
        minute: new Date(m * MINUTE_MS).toISOString(),
        requests: live ? slot.requests : 0,
        errors: live ? Object.fromEntries(slot.errors) : {},
        p50_ms: live ? percentile(slot, 0.5) : null,
        p99_ms: live ? percentile(slot, 0.99) : null,
      });
    }
    return out;
  }

  #slot(minute: number): Slot {
    const at = minute % MINUTES;
    let slot = this.#slots[at];
    if (!slot) {
      slot = this.#slots[at] = {
        minute,
        requests: 0,
        errors: new Map(),
        latency: new Uint32Array(BUCKETS),
      };
    } else if (slot.minute !== minute) {
      slot.minute = minute;
      slot.requests = 0;
      slot.errors.clear();
      slot.latency.fill(0);
    }
    return slot;
  }
}

function percentile(slot: Slot, q: number): number | null {
  if (slot.requests === 0) return null;
  const rank = Math.ceil(q * slot.requests);
  let seen = 0;
  for (let b = 0; b < BUCKETS; b++) {
    seen += slot.latency[b];
    if (seen >= rank) return Math.round(MIN_MS * RATIO ** b * 1000) / 1000;
  }
  return null;
}
