/**
 * Copies of byte digits that outlive the transport's buffer they came in:
 * each is a 784-byte view into a slab shared by the next few dozen copies,
 * so a request's copy costs no allocation of its own (a `slice` of 784
 * bytes is a new buffer outside the JavaScript heap: a `malloc`, a `free`
 * and the collector's bookkeeping, for every request).
 *
 * @example
 * ```ts
 * import { DigitCopies } from "./digit_copies.ts";
 *
 * const copies = new DigitCopies();
 * const read = new Uint8Array(784).fill(9);
 * const copy = copies.copy(read);
 * read.fill(0); // the transport reuses its buffer
 * console.log(copy.length, copy[0]); // 784 9
 * ```
 * @module
 */
import { DIGIT_PIXELS } from "../../shared/codec.ts";
import { ByteSlab } from "./byte_slab.ts";

/** Digits a slab holds: one allocation per this many copies; a slab is freed once none of its copies is held. */
const SLAB_DIGITS = 32;

/** Hands out copies of digits, each in its own 784 bytes of a shared slab. */
export class DigitCopies {
  #slab = new ByteSlab(SLAB_DIGITS * DIGIT_PIXELS);

  /** A copy of the digit's first 784 bytes (zeros past a shorter one). */
  copy(digit: Uint8Array): Uint8Array {
    const copy = this.#slab.take(DIGIT_PIXELS);
    copy.set(digit.length > DIGIT_PIXELS ? digit.subarray(0, DIGIT_PIXELS) : digit);
    return copy;
  }
}
