/**
 * Traffic over the last few whole seconds (10 by default), in one-second slots:
 * requests, digits, errors by code, engine runs and batch sizes, and a
 * latency histogram with 2%-wide buckets for p50/p99. The second under way
 * is left out until it ends, so a rate is always a count over whole seconds.
 * The periodic log line and the dashboard both read it, so they agree.
 *
 * @example
 * ```ts
 * import { TrafficWindow } from "./window.ts";
 *
 * const window = new TrafficWindow();
 * window.request(1.5, "OK", 1);
 * window.run(1);
 * console.log(window.summary()); // a second later: { requestsPerSecond: 0.1, p50Ms: ~1.5, ... }
 * ```
 * @module
 */

/** Latency buckets: 2% wide from 1 µs; the last one holds everything over ~100 s. */
const RATIO = 1.02;
const MIN_MS = 0.001;
const BUCKETS = Math.ceil(Math.log(1e5 / MIN_MS) / Math.log(RATIO)) + 1;

function bucketOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / Math.log(RATIO)));
}

/** The upper bound of a bucket, in ms. */
function bucketMs(bucket: number): number {
  return MIN_MS * RATIO ** bucket;
}

interface Slot {
  second: number;
  requests: number;
  digits: number;
  runs: number;
  runDigits: number;
  errors: Map<string, number>;
  latency: Uint32Array;
  batchSizes: Map<number, number>;
}

/** What the window saw, as rates and percentiles. */
export interface TrafficSummary {
  /** Seconds the figures cover. */
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  digitsPerSecond: number;
  /** Latency percentiles of the requests in the window, in ms (null without requests). */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Failed requests by code. */
  errors: Record<string, number>;
  runs: number;
  /** Mean digits per engine run (null without runs). */
  meanBatch: number | null;
  /** Runs by batch size. */
  batchSizes: Record<string, number>;
}

/** The default clock: one function for every window, so the code that calls it stays monomorphic. */
const performanceNow = (): number => performance.now();

/** A sliding window of one-second slots. */
export class TrafficWindow {
  readonly seconds: number;
  #slots: Slot[];
  #now: () => number;

  /** `now` returns ms (default `performance.now`); tests pass their own clock. */
  constructor(seconds = 10, now: () => number = performanceNow) {
    this.seconds = seconds;
    this.#now = now;
    // One slot more than the span: the second under way fills it.
    this.#slots = Array.from({ length: seconds + 1 }, () => ({
      second: -1,
      requests: 0,
      digits: 0,
      runs: 0,
      runDigits: 0,
      errors: new Map(),
      latency: new Uint32Array(BUCKETS),
      batchSizes: new Map(),
    }));
  }

  #slot(): Slot {
    const second = Math.floor(this.#now() / 1000);
    const slot = this.#slots[second % this.#slots.length];
    if (slot.second !== second) {
      slot.second = second;
      slot.requests =
        slot.digits =
        slot.runs =
        slot.runDigits =
          0;
      slot.errors.clear();
      slot.latency.fill(0);
      slot.batchSizes.clear();
    }
    return slot;
  }

  /** Records a request: its latency, its code (`OK` or an error) and digits inferred. */
  request(latencyMs: number, code: string, digits: number): void {
    const slot = this.#slot();
    slot.requests++;
    slot.digits += digits;
    slot.latency[bucketOf(latencyMs)]++;
    if (code !== "OK") slot.errors.set(code, (slot.errors.get(code) ?? 0) + 1);
  }

  /** Records an engine run of `batchSize` digits. */
  run(batchSize: number): void {
    const slot = this.#slot();
    slot.runs++;
    slot.runDigits += batchSize;
    slot.batchSizes.set(batchSize, (slot.batchSizes.get(batchSize) ?? 0) + 1);
  }

  /** The figures of the last `seconds` whole seconds. */
  summary(): TrafficSummary {
    const current = Math.floor(this.#now() / 1000);
    const latency = new Uint32Array(BUCKETS);
    const errors: Record<string, number> = {};
    const batchSizes: Record<string, number> = {};
    let requests = 0, digits = 0, runs = 0, runDigits = 0;
    for (const slot of this.#slots) {
      const age = current - slot.second;
      if (slot.second < 0 || age < 1 || age > this.seconds) continue;
      requests += slot.requests;
      digits += slot.digits;
      runs += slot.runs;
      runDigits += slot.runDigits;
      for (let i = 0; i < BUCKETS; i++) latency[i] += slot.latency[i];
      for (const [code, n] of slot.errors) errors[code] = (errors[code] ?? 0) + n;
      for (const [size, n] of slot.batchSizes) batchSizes[size] = (batchSizes[size] ?? 0) + n;
    }
    const percentile = (p: number): number | null => {
      if (requests === 0) return null;
      const rank = Math.ceil(p * requests);
      let seen = 0;
      for (let i = 0; i < BUCKETS; i++) {
        seen += latency[i];
        if (seen >= rank) return bucketMs(i);
      }
      return bucketMs(BUCKETS - 1);
    };
    return {
      seconds: this.seconds,
      requests,
      requestsPerSecond: requests / this.seconds,
      digitsPerSecond: digits / this.seconds,
      p50Ms: percentile(0.5),
      p99Ms: percentile(0.99),
      errors,
      runs,
      meanBatch: runs > 0 ? runDigits / runs : null,
      batchSizes,
    };
  }
}
