/**
 * A count per second over a sliding window of whole seconds: what
 * `GET_STATS` reports as `freq`, the same for every caller, and never reset
 * by asking.
 *
 * @module
 */

/**
 * The clock of a window not given one: one function for all, so that code
 * calling it stays compiled for one target (a closure per window was a new
 * target for each, and cost a deoptimization when the queue's window was
 * replaced).
 */
const clock = (): number => performance.now();

/** Counts events in one-second buckets and reports their rate over the last `seconds`. */
export class RateWindow {
  #buckets: Float64Array;
  #second = -1;
  #started = performance.now();
  #now: () => number;

  constructor(seconds: number, now: () => number = clock) {
    this.#buckets = new Float64Array(seconds);
    this.#now = now;
    this.#started = now();
  }

  /** Forgets every event counted: the window starts again now (its owner's reset). */
  reset(): void {
    this.#buckets.fill(0);
    this.#second = -1;
    this.#started = this.#now();
  }

  /** Adds `n` events now. */
  add(n: number): void {
    this.#advance();
    this.#buckets[this.#second % this.#buckets.length] += n;
  }

  /** Events per second over the window (or since start, when younger than the window). */
  rate(): number {
    this.#advance();
    let total = 0;
    for (const count of this.#buckets) total += count;
    const span = Math.min(this.#buckets.length, (this.#now() - this.#started) / 1000);
    return span > 0 ? total / Math.max(span, 1) : 0;
  }

  /** Empties the buckets of the seconds that passed since the last call. */
  #advance(): void {
    const second = Math.floor(this.#now() / 1000);
    if (this.#second < 0) this.#second = second;
    const steps = Math.min(second - this.#second, this.#buckets.length);
    for (let i = 1; i <= steps; i++) this.#buckets[(this.#second + i) % this.#buckets.length] = 0;
    this.#second = second;
  }
}
