/**
 * A connection's deadline for its reads or its writes, raced against each
 * socket operation. Deno cannot cancel one read or write, so the operation
 * left behind at a timeout is let settle on its own (it rejects once its
 * connection is closed) and its rejection is ignored.
 *
 * The deadline moves with almost every read (a message's clock, then the
 * idle clock), so it keeps one timer per connection and does not re-arm it
 * when the deadline moves later: the timer wakes at the old time, finds the
 * new one and sleeps again. A request costs no timer of its own, which was a
 * good part of the event loop's time per request.
 *
 * A deadline made with an `onExpire` callback is watched without a race:
 * the callback runs when the deadline passes while it is set (a transport
 * that aborts a stalled write, or answers a read that timed out, and lets the
 * operation left behind settle). That costs no promise per operation; a set
 * deadline is cleared with `set(Infinity)`, which re-arms nothing.
 *
 * @example
 * ```ts
 * import { Deadline } from "./deadline.ts";
 *
 * const deadline = new Deadline();
 * deadline.set(performance.now() + 10);
 * const result = await deadline.race(new Promise((r) => setTimeout(() => r(1), 50)));
 * console.log(result); // "timeout"
 * deadline.clear();
 * ```
 * @module
 */

/** setTimeout takes at most a signed 32-bit delay. */
const MAX_DELAY = 2 ** 31 - 1;

/** A movable deadline on `performance.now()`'s clock, with one timer. */
export class Deadline {
  #at = Infinity;
  /** When the timer is due; Infinity when none is set. */
  #armedFor = Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Ends the race under way, if one is. */
  #expire: ((value: "timeout") => void) | null = null;
  #onExpire: (() => void) | null;

  /** `onExpire`: called (instead of ending a race) each time a set deadline passes. */
  constructor(onExpire: (() => void) | null = null) {
    this.#onExpire = onExpire;
  }

  /** Sets the deadline to `at` (ms on `performance.now()`'s clock; Infinity for none). */
  set(at: number): void {
    this.#at = at;
    if (at < this.#armedFor) this.#arm();
  }

  /** `work`'s result, or "timeout" when the deadline passes first (or already has). */
  async race<T>(work: Promise<T>): Promise<T | "timeout"> {
    // A pending timer has not found the deadline passed yet (it ends the
    // race when it does); without one, the clock says.
    if (this.#timer === undefined && performance.now() >= this.#at) {
      work.catch(() => {});
      return "timeout";
    }
    const timeout = new Promise<"timeout">((resolve) => this.#expire = resolve);
    const result = await Promise.race([work, timeout]);
    this.#expire = null;
    if (result === "timeout") work.catch(() => {});
    return result;
  }

  /** Stops the timer (the connection is done). */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
    this.#at = Infinity;
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const delay = this.#at - performance.now();
    this.#armedFor = Infinity;
    if (this.#at === Infinity) return;
    // Already past: no timer; a race under way ends, a later one reads the clock.
    if (delay <= 0) return this.#expired();
    this.#armedFor = this.#at;
    this.#timer = setTimeout(() => this.#fire(), Math.min(delay, MAX_DELAY));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    // Moved later since the timer was set: sleep until the new time.
    if (performance.now() < this.#at) this.#arm();
    else this.#expired();
  }

  #expired(): void {
    if (this.#expire) this.#expire("timeout");
    else if (this.#onExpire) {
      // Told once per deadline: a later `set` watches again.
      this.#at = Infinity;
      this.#onExpire();
    }
  }
}
