/**
 * The sample digits bundled into the firmware, packed small: the firmware's
 * whole budget is 6 KB and a 784-byte digit would take 1 KB of base64.
 *
 * Each digit is cut to its bounding box and stored at one bit per pixel (ink
 * is a pixel at half intensity or more): the ten bundled MNIST digits take
 * 253 bytes. Record: label, top, left, height, width (a byte each), then
 * height × width bits, row-major, most significant bit first, padded to a
 * byte. The records are concatenated and base64-encoded, so the firmware
 * carries one plain string literal with no escapes (Espruino can leave such
 * a literal in flash) and decodes it with the board's own `atob` and
 * `E.toUint8Array` when it needs a digit. (Run-length coding saves 100
 * bytes of data and costs 80 of code: not worth it.)
 *
 * `unpackSample` runs on the board: it keeps to the Espruino subset.
 *
 * @example
 * ```ts
 * import { packSamples, samplesBytes, unpackSample } from "./samples.ts";
 *
 * const digit = new Uint8Array(784);
 * digit[14 * 28 + 14] = 255;
 * const packed = packSamples([{ pixels: digit, label: 1 }]);
 * const into = new Uint8Array(784);
 * console.log(unpackSample(samplesBytes(packed), 0, into), into[14 * 28 + 14]); // 1 255
 * ```
 * @module
 */

/** Width and height of a digit. */
const SIDE = 28;
/** Bytes before each record's bits. */
const HEADER = 5;

/** A digit to pack: 784 pixels 0..255 (row-major) and its label. */
export interface Sample {
  pixels: ArrayLike<number>;
  label: number;
}

/** Packs digits as described above; returns base64. */
export function packSamples(samples: Sample[]): string {
  const bytes: number[] = [];
  for (const { pixels, label } of samples) {
    if (pixels.length !== SIDE * SIDE) throw new Error(`a sample has ${pixels.length} pixels`);
    let top = SIDE, bottom = -1, left = SIDE, right = -1;
    for (let p = 0; p < pixels.length; p++) {
      if (pixels[p] < 128) continue;
      const y = Math.floor(p / SIDE), x = p % SIDE;
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
      left = Math.min(left, x);
      right = Math.max(right, x);
    }
    if (bottom < 0) top = left = 0; // blank: an empty box
    const h = bottom - top + 1, w = right - left + 1;
    bytes.push(label, top, left, h, w);
    const bits = new Uint8Array(Math.ceil(h * w / 8));
    for (let i = 0; i < h * w; i++) {
      const p = (top + Math.floor(i / w)) * SIDE + left + i % w;
      if (pixels[p] >= 128) bits[i >> 3] |= 128 >> (i & 7);
    }
    bytes.push(...bits);
  }
  return btoa(String.fromCharCode(...bytes));
}

/** The bytes of a packed string (base64). */
export function samplesBytes(packed: string): Uint8Array {
  return Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
}

/** How many digits the bytes of a packed string hold. */
export function countSamples(bytes: Uint8Array): number {
  let n = 0;
  for (let at = 0; at < bytes.length; n++) {
    at += HEADER + ((bytes[at + 3] * bytes[at + 4] + 7) >> 3);
  }
  return n;
}

/**
 * Writes digit `k` of `bytes` (a packed string's bytes) into `into` (784
 * pixels, 0 or 255) and returns its label. Runs on the board, which decodes
 * the string for each call (a few hundred bytes, freed at once) rather than
 * keep a decoded copy in RAM.
 */
export function unpackSample(bytes: Uint8Array, k: number, into: Uint8Array): number {
  let at = 0;
  while (k-- > 0) at += HEADER + ((bytes[at + 3] * bytes[at + 4] + 7) >> 3);
  const w = bytes[at + 4];
  into.fill(0);
  for (let i = 0; i < bytes[at + 3] * w; i++) {
    if (bytes[at + HEADER + (i >> 3)] & (128 >> (i & 7))) {
      into[(bytes[at + 1] + ((i / w) | 0)) * SIDE + bytes[at + 2] + i % w] = 255;
    }
  }
  return bytes[at];
}
