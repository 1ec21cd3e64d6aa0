/**
 * The per-address connection counts of `SharedBoardLimits`: a hash table in
 * shared memory (linear probing, the address as the key), changed under a
 * spin lock taken only at a connection's start and end. Each slot keeps, beside
 * the address's count, each thread's part of it, so that what a thread that
 * has ended counted can be taken out (`release`).
 *
 * @example
 * ```ts
 * import { AddressTable } from "./address_table.ts";
 *
 * const words = new Int32Array(new SharedArrayBuffer(AddressTable.bytes(1024, 2) + 4));
 * const main = new AddressTable(words, 1, 2, 0); // word 0: the lock
 * const worker = new AddressTable(words, 1, 2, 1);
 * console.log(worker.add("10.0.0.7", 2), main.add("10.0.0.7", 2), main.add("10.0.0.7", 2)); // true true false
 * console.log(main.release(1), main.held(0)); // 1 1
 * ```
 * @module
 */

/** The word of the lock: 0 when free, else its holder's thread + 1. */
const LOCK = 0;
/** One slot: count, key length, key hash, the key's bytes (64 at most), then each thread's count. */
const COUNT = 0;
const LENGTH = 1;
const HASH = 2;
const KEY = 3;
const MAX_KEY = 64;
const PER_THREAD = KEY + MAX_KEY / 4;

/** Connections per client address, for every thread over one buffer. */
export class AddressTable {
  /** Which thread's counts this one changes. */
  readonly thread: number;
  #words: Int32Array;
  #start: number;
  #slotWords: number;
  #mask: number;
  #key = new Uint8Array(MAX_KEY);

  /** The bytes of a table of `slots` slots (a power of two) for `threads` threads. */
  static bytes(slots: number, threads: number): number {
    return slots * (PER_THREAD + threads) * 4;
  }

  /** The table from word `start` of `words` to their end (word 0 is its lock), changed as `thread`. */
  constructor(words: Int32Array, start: number, threads: number, thread: number) {
    this.#words = words;
    this.#start = start;
    this.#slotWords = PER_THREAD + threads;
    this.#mask = (words.length - start) / this.#slotWords - 1;
    this.thread = thread;
  }

  /** Counts one more connection from `address` unless it has `max`; false then. */
  add(address: string, max: number): boolean {
    this.#lock();
    try {
      const slot = this.#find(address, true);
      // A full table cannot happen (twice the connection cap); if it did, admit.
      if (slot < 0) return true;
      const words = this.#words;
      if (words[slot + COUNT] >= max) return false;
      words[slot + COUNT]++;
      words[slot + PER_THREAD + this.thread]++;
      return true;
    } finally {
      Atomics.store(this.#words, LOCK, 0);
    }
  }

  /** Counts one connection from `address` less (one this thread added). */
  remove(address: string): void {
    this.#lock();
    try {
      const slot = this.#find(address, false);
      if (slot < 0) return;
      this.#words[slot + PER_THREAD + this.thread]--;
      if (--this.#words[slot + COUNT] <= 0) this.#delete(slot);
    } finally {
      Atomics.store(this.#words, LOCK, 0);
    }
  }

  /** The connections `thread` counts now, every address together. */
  held(thread: number): number {
    return this.#locked(-1, () => {
      let held = 0;
      this.#each((slot) => held += this.#words[slot + PER_THREAD + thread]);
      return held;
    });
  }

  /**
   * Takes out every count of `thread`, a thread that runs no more (the lock
   * is taken from it if it held it); how many there were.
   */
  release(thread: number): number {
    const words = this.#words;
    return this.#locked(thread, () => {
      let released = 0;
      const kept: Int32Array[] = [];
      this.#each((slot) => {
        const theirs = words[slot + PER_THREAD + thread];
        released += theirs;
        words[slot + PER_THREAD + thread] = 0;
        words[slot + COUNT] -= theirs;
        if (words[slot + COUNT] > 0) kept.push(words.slice(slot, slot + this.#slotWords));
      });
      // Rebuilt rather than emptied slot by slot: every remaining entry where a lookup finds it.
      if (released > 0) {
        words.fill(0, this.#start);
        for (const entry of kept) words.set(entry, this.#empty(entry[HASH]));
      }
      return released;
    });
  }

  /** Calls `visit` with each slot in use. */
  #each(visit: (slot: number) => void): void {
    const words = this.#words;
    for (let slot = this.#start; slot < words.length; slot += this.#slotWords) {
      if (words[slot + COUNT] > 0) visit(slot);
    }
  }

  #locked<T>(ended: number, body: () => T): T {
    this.#lock(ended);
    try {
      return body();
    } finally {
      Atomics.store(this.#words, LOCK, 0);
    }
  }

  /** Takes the lock; also from `ended`, a thread that runs no more. */
  #lock(ended = -1): void {
    const me = this.thread + 1;
    // Held for a few hundred nanoseconds at a connection's start or end: spinning is cheaper than waiting.
    for (;;) {
      const holder = Atomics.compareExchange(this.#words, LOCK, 0, me);
      if (holder === 0) return;
      if (
        holder === ended + 1 && Atomics.compareExchange(this.#words, LOCK, holder, me) === holder
      ) {
        return;
      }
    }
  }

  /** The first empty slot from the home of `hash`. */
  #empty(hash: number): number {
    for (let i = hash & this.#mask;; i = (i + 1) & this.#mask) {
      const slot = this.#start + i * this.#slotWords;
      if (this.#words[slot + COUNT] === 0) return slot;
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
      const slot = this.#start + i * this.#slotWords;
      if (words[slot + COUNT] === 0) {
        if (!add) return -1;
        // A slot emptied by a move keeps its old words: every one is written.
        words.fill(0, slot, slot + this.#slotWords);
        words[slot + LENGTH] = length;
        words[slot + HASH] = hash;
        words.set(keyWords, slot + KEY);
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
    const size = this.#slotWords;
    let hole = (slot - this.#start) / size;
    words[slot + COUNT] = 0;
    for (let j = (hole + 1) & mask;; j = (j + 1) & mask) {
      const at = this.#start + j * size;
      if (words[at + COUNT] === 0) return;
      const home = words[at + HASH] & mask;
      // The entry stays when its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      words.copyWithin(this.#start + hole * size, at, at + size);
      words[at + COUNT] = 0;
      hole = j;
    }
  }
}

function sameKey(words: Int32Array, slot: number, key: Int32Array): boolean {
  for (let w = 0; w < key.length; w++) if (words[slot + KEY + w] !== key[w]) return false;
  return true;
}
