/**
 * Short-lived byte arrays cut from a shared slab: each is a view into a
 * buffer shared by the next few dozen, so handing one out costs no
 * allocation of its own. A new `Uint8Array` of a few hundred bytes is a
 * buffer outside the JavaScript heap (a `malloc`, zeroing, a `free` and the
 * collector's bookkeeping), about ten times the cost of a view; per request
 * that was a measurable part of the event loop's time.
 *
 * A slab is freed once no view into it is held, so a view kept long keeps
 * its whole slab: slabs are small (a few KB), and what is cut from them is
 * held only until it is written or copied. A view's `buffer` is the slab's:
 * never transfer it to another thread.
 *
 * @example
 * ```ts
 * import { ByteSlab } from "./byte_slab.ts";
 *
 * const slab = new ByteSlab(4096);
 * const a = slab.take(100);
 * const b = slab.take(100);
 * a.fill(1);
 * console.log(a.length, b[0], a.buffer === b.buffer); // 100 0 true
 * ```
 * @module
 */

/** Hands out views of a slab, a new slab when the current one cannot fit the next. */
export class ByteSlab {
  readonly slabBytes: number;
  #slab = new Uint8Array(0);
  #at = 0;

  /** `slabBytes`: each slab's size; a request larger than it gets a buffer of its own. */
  constructor(slabBytes: number) {
    this.slabBytes = slabBytes;
  }

  /** `length` zeroed bytes no other view shares. */
  take(length: number): Uint8Array {
    if (length > this.slabBytes) return new Uint8Array(length);
    if (this.#at + length > this.#slab.length) {
      this.#slab = new Uint8Array(this.slabBytes);
      this.#at = 0;
    }
    const view = this.#slab.subarray(this.#at, this.#at + length);
    // The next view starts 8-aligned, so a view's floats and words may be read in place.
    this.#at += (length + 7) & ~7;
    return view;
  }
}
