/**
 * `BoardLimits` whose counters live in a `SharedArrayBuffer`, so that the
 * listener Workers of `--listeners N` and the main thread keep one set: one
 * `--max-connections` cap, one count per client address, one buffer budget
 * and one count of busy connections for the queue's shares, whichever Worker
 * accepted the connection. Counters change with `Atomics`; the per-address
 * counts are a hash table (linear probing, the address as the key) changed
 * under a spin lock, taken only at a connection's start and end.
 *
 * Each thread builds its own `SharedBoardLimits` over the same `buffer`
 * (`SharedBoardLimits.create` on the main thread, `new SharedBoardLimits(options,
 * buffer)` in a Worker it was posted to).
 *
 * @example
 * ```ts
 * import { SharedBoardLimits } from "./shared_limits.ts";
 *
 * const options = { maxConnections: 2, maxConnectionsPerAddress: 1,
 *   maxBufferedBytes: 1 << 20, maxQueued: 4096, minQueueShare: 16 };
 * const main = SharedBoardLimits.create(options);
 * const worker = new SharedBoardLimits(options, main.buffer); // in a Worker: the posted buffer
 * console.log(main.addAddress("10.0.0.7"), worker.addAddress("10.0.0.7")); // true false
 * console.log(worker.addConnection(), main.addConnection(), main.addConnection(), worker.open);
 * // true true false 2
 * ```
 * @module
 */
import { BoardLimits, type LimitOptions } from "../tcp/limits.ts";

/** Words before the table: the lock and the counters. */
const LOCK = 0;
const OPEN = 1;
const BUFFERED = 2;
const BUSY = 3;
const HEADER_WORDS = 4;
/** One slot of the address table: count, key length, key hash, then the key's bytes (64 at most). */
const COUNT = 0;
const LENGTH = 1;
const HASH = 2;
const KEY = 3;
const MAX_KEY = 64;
const SLOT_WORDS = KEY + MAX_KEY / 4;

/** Slots for `maxConnections` distinct addresses at half load, a power of two. */
function slotsFor(maxConnections: number): number {
  let slots = 1024;
  while (slots < 2 * maxConnections && slots < 1 << 20) slots *= 2;
  return slots;
}

/** The limits' counters, shared between threads. */
export class SharedBoardLimits extends BoardLimits {
  /** The shared memory: post it to a Worker, which builds its own `SharedBoardLimits` over it. */
  readonly buffer: SharedArrayBuffer;
  #words: Int32Array;
  #mask: number;
  #key = new Uint8Array(MAX_KEY);

  /** A new set of counters, all zero. */
  static create(options: LimitOptions): SharedBoardLimits {
    const slots = slotsFor(options.maxConnections);
    const buffer = new SharedArrayBuffer((HEADER_WORDS + slots * SLOT_WORDS) * 4);
    return new SharedBoardLimits(options, buffer);
  }

  constructor(options: LimitOptions, buffer: SharedArrayBuffer) {
    super(options);
    this.buffer = buffer;
    this.#words = new Int32Array(buffer);
    this.#mask = (this.#words.length - HEADER_WORDS) / SLOT_WORDS - 1;
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
    return this.#addBelow(OPEN, 1, this.options.maxConnections);
  }

  override removeConnection(): void {
    Atomics.sub(this.#words, OPEN, 1);
  }

  override charge(delta: number): boolean {
    if (delta <= 0) {
      Atomics.add(this.#words, BUFFERED, delta);
      return true;
    }
    return this.#addBelow(BUFFERED, delta, this.options.maxBufferedBytes);
  }

  /** @internal */
  override shareSize(countSelf: boolean): number {
    const busy = this.busy + (countSelf ? 1 : 0);
    return Math.max(this.options.minQueueShare, Math.floor(this.options.maxQueued / busy));
  }

  /** @internal */
  override busyChanged(delta: number): void {
    Atomics.add(this.#words, BUSY, delta);
  }

  override addAddress(address: string): boolean {
    this.#lock();
    try {
      const slot = this.#find(address, true);
      // A full table cannot happen (twice the connection cap); if it did, admit.
      if (slot < 0) return true;
      const words = this.#words;
      if (words[slot + COUNT] >= this.options.maxConnectionsPerAddress) return false;
      words[slot + COUNT]++;
      return true;
    } finally {
      Atomics.store(this.#words, LOCK, 0);
    }
  }

  override removeAddress(address: string): void {
    this.#lock();
    try {
      const slot = this.#find(address, false);
      if (slot < 0) return;
      if (--this.#words[slot + COUNT] <= 0) this.#delete(slot);
    } finally {
      Atomics.store(this.#words, LOCK, 0);
    }
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

  #lock(): void {
    // Held for a few hundred nanoseconds at a connection's start or end: spinning is cheaper than waiting.
    while (Atomics.compareExchange(this.#words, LOCK, 0, 1) !== 0) {
      // spin
    }
  }

  /** The slot (word index) of `address`, or of a new empty one for it when `add`; -1 when none. */
  #find(address: string, add: boolean): number {
    const key = this.#key;
    const length = Math.min(address.length, MAX_KEY);
    key.fill(0);
    let hash = 0x811c9dc5;
    for (let i = 0; i < length; i++) {
      key[i] = address.charCodeAt(i) & 0xff;
      hash = Math.imul(hash ^ key[i], 16777619);
    }
    const keyWords = new Int32Array(key.buffer);
    const words = this.#words;
    for (let probe = 0, i = hash & this.#mask; probe <= this.#mask; probe++) {
      const slot = HEADER_WORDS + i * SLOT_WORDS;
      if (words[slot + COUNT] === 0) {
        if (!add) return -1;
        words[slot + LENGTH] = length;
        words[slot + HASH] = hash;
        for (let w = 0; w < MAX_KEY / 4; w++) words[slot + KEY + w] = keyWords[w];
        return slot;
      }
      if (
        words[slot + HASH] === hash && words[slot + LENGTH] === length &&
        sameKey(words, slot, keyWords)
      ) {
        return slot;
      }
      i = (i + 1) & this.#mask;
    }
    return -1;
  }

  /** Empties a slot, moving later entries of its probe run back so that every lookup still finds them. */
  #delete(slot: number): void {
    const words = this.#words;
    const mask = this.#mask;
    let hole = (slot - HEADER_WORDS) / SLOT_WORDS;
    words[slot + COUNT] = 0;
    for (let j = (hole + 1) & mask;; j = (j + 1) & mask) {
      const at = HEADER_WORDS + j * SLOT_WORDS;
      if (words[at + COUNT] === 0) return;
      const home = words[at + HASH] & mask;
      // The entry stays when its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      const to = HEADER_WORDS + hole * SLOT_WORDS;
      for (let w = 0; w < SLOT_WORDS; w++) words[to + w] = words[at + w];
      words[at + COUNT] = 0;
      hole = j;
    }
  }
}

function sameKey(words: Int32Array, slot: number, key: Int32Array): boolean {
  for (let w = 0; w < key.length; w++) if (words[slot + KEY + w] !== key[w]) return false;
  return true;
}
