/**
 * `BoardLimits` whose counters live in a `SharedArrayBuffer`, so that the
 * listener Workers of `--listeners N` and the main thread keep one set: one
 * `--max-connections` cap, one count per client address, one buffer budget
 * and one count of busy connections for the queue's shares, whichever Worker
 * accepted the connection. Counters change with `Atomics`; the per-address
 * counts are a hash table under a spin lock (`address_table.ts`).
 *
 * Each thread builds its own `SharedBoardLimits` over the same `buffer`
 * (`create` on the main thread, thread 0; `new SharedBoardLimits(options,
 * buffer, thread)` in a Worker it was posted to) and keeps its own part of
 * each count beside the total, so that what a thread that has ended held can
 * be given back (`release`): its connections are gone with it.
 *
 * @example
 * ```ts
 * import { SharedBoardLimits } from "./shared_limits.ts";
 *
 * const options = { maxConnections: 2, maxConnectionsPerAddress: 1,
 *   maxBufferedBytes: 1 << 20, maxQueued: 4096, minQueueShare: 16 };
 * const main = SharedBoardLimits.create(options, 2);
 * const worker = new SharedBoardLimits(options, main.buffer, 1); // in a Worker: the posted buffer
 * console.log(worker.addAddress("10.0.0.7"), main.addAddress("10.0.0.7")); // true false
 * console.log(worker.addConnection(), main.addConnection(), main.addConnection(), worker.open);
 * // true true false 2
 * console.log(main.release(1), main.open); // { open: 1, buffered: 0, addresses: 1 } 1
 * ```
 * @module
 */
import { BoardLimits, type LimitOptions } from "../tcp/limits.ts";
import { AddressTable } from "./address_table.ts";

/** Words before the tallies: the address table's lock, the totals, how many threads. */
const OPEN = 1;
const BUFFERED = 2;
const BUSY = 3;
const THREADS = 4;
/** Each thread's part of the totals it changes: open connections, buffered bytes. */
const TALLIES = 5;
const MY_OPEN = 0;
const MY_BUFFERED = 1;
const TALLY_WORDS = 2;
/** The largest count a word holds: a larger cap (`--max-buffered-bytes` past 2 GiB) counts as this. */
const MAX_COUNT = 0x7fffffff;

/** Slots for `maxConnections` distinct addresses at half load, a power of two. */
function slotsFor(maxConnections: number): number {
  let slots = 1024;
  while (slots < 2 * maxConnections && slots < 1 << 20) slots *= 2;
  return slots;
}

/** What one thread's connections hold: places, buffered bytes, and places of their addresses. */
export interface Held {
  open: number;
  buffered: number;
  addresses: number;
}

/** The limits' counters, shared between threads. */
export class SharedBoardLimits extends BoardLimits {
  /** The shared memory: post it to a Worker, which builds its own `SharedBoardLimits` over it. */
  readonly buffer: SharedArrayBuffer;
  /** Which thread's tallies this one keeps (0: the main thread's). */
  readonly thread: number;
  #words: Int32Array;
  #addresses: AddressTable;
  /** This thread's tallies' first word. */
  #tally: number;

  /** A new set of counters, all zero, for `threads` threads (the main thread and its Workers). */
  static create(options: LimitOptions, threads = 1): SharedBoardLimits {
    const table = (TALLIES + threads * TALLY_WORDS) * 4;
    const buffer = new SharedArrayBuffer(
      table + AddressTable.bytes(slotsFor(options.maxConnections), threads),
    );
    new Int32Array(buffer)[THREADS] = threads;
    return new SharedBoardLimits(options, buffer);
  }

  /** The counters in `buffer`, changed as `thread` (one of the threads they were made for). */
  constructor(options: LimitOptions, buffer: SharedArrayBuffer, thread = 0) {
    super(options);
    this.buffer = buffer;
    this.thread = thread;
    const words = new Int32Array(buffer);
    const threads = words[THREADS];
    if (!(thread >= 0 && thread < threads)) {
      throw new RangeError(`thread ${thread} is not one of the ${threads} these limits are for`);
    }
    this.#words = words;
    this.#addresses = new AddressTable(words, TALLIES + threads * TALLY_WORDS, threads, thread);
    this.#tally = TALLIES + thread * TALLY_WORDS;
  }

  override get open(): number {
    return Atomics.load(this.#words, OPEN);
  }

  override get buffered(): number {
    return Atomics.load(this.#words, BUFFERED);
  }

  override get busy(): number {
    return Atomics.load(this.#words, BUSY);
  }

  override addConnection(): boolean {
    if (!this.#addBelow(OPEN, 1, this.options.maxConnections)) return false;
    Atomics.add(this.#words, this.#tally + MY_OPEN, 1);
    return true;
  }

  override removeConnection(): void {
    Atomics.sub(this.#words, OPEN, 1);
    Atomics.sub(this.#words, this.#tally + MY_OPEN, 1);
  }

  override charge(delta: number, max: number = this.options.maxBufferedBytes): boolean {
    if (delta <= 0) Atomics.add(this.#words, BUFFERED, delta);
    else if (!this.#addBelow(BUFFERED, delta, Math.min(max, MAX_COUNT))) return false;
    Atomics.add(this.#words, this.#tally + MY_BUFFERED, delta);
    return true;
  }

  /** @internal */
  override shareSize(countSelf: boolean): number {
    const busy = this.busy + (countSelf ? 1 : 0);
    return Math.max(this.options.minQueueShare, Math.floor(this.options.maxQueued / busy));
  }

  /**
   * @internal Only the main thread admits digits (a Worker's connections'
   * shares are kept there, `worker_link.ts`), so busy needs no tally per thread.
   */
  override busyChanged(delta: number): void {
    Atomics.add(this.#words, BUSY, delta);
  }

  override addAddress(address: string): boolean {
    return this.#addresses.add(address, this.options.maxConnectionsPerAddress);
  }

  override removeAddress(address: string): void {
    this.#addresses.remove(address);
  }

  /** What `thread`'s connections hold now. */
  held(thread: number): Held {
    const tally = TALLIES + thread * TALLY_WORDS;
    return {
      open: Atomics.load(this.#words, tally + MY_OPEN),
      buffered: Atomics.load(this.#words, tally + MY_BUFFERED),
      addresses: this.#addresses.held(thread),
    };
  }

  /**
   * Gives back all that `thread` holds, a thread that runs no more (a
   * listener Worker that failed or was terminated: its connections are gone
   * and will never give back their places themselves); what it held.
   */
  release(thread: number): Held {
    const tally = TALLIES + thread * TALLY_WORDS;
    const open = Atomics.exchange(this.#words, tally + MY_OPEN, 0);
    Atomics.sub(this.#words, OPEN, open);
    const buffered = Atomics.exchange(this.#words, tally + MY_BUFFERED, 0);
    Atomics.sub(this.#words, BUFFERED, buffered);
    return { open, buffered, addresses: this.#addresses.release(thread) };
  }

  /** Adds `delta` to a counter unless that passes `max`. */
  #addBelow(index: number, delta: number, max: number): boolean {
    const words = this.#words;
    for (;;) {
      const now = Atomics.load(words, index);
      if (now + delta > max) return false;
      if (Atomics.compareExchange(words, index, now, now + delta) === now) return true;
    }
  }
}
