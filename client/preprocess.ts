/**
 * A picture of a handwritten digit, any size, made into what the model was
 * trained on, the way MNIST was made: grey levels, light ink on a black
 * background, cropped to the ink, the longer side scaled to 20 px keeping
 * the aspect, and placed in 28×28 so that its centre of mass is the centre.
 *
 * - Transparency is composited onto white (a drawing on a transparent
 *   canvas is dark ink on white).
 * - The ink is found by `ink.ts`: paper whichever way round (dark on light
 *   or light on dark), uneven light and shadows taken out, one Otsu
 *   threshold, the largest connected strokes kept and specks ignored. A
 *   picture without a digit is a `NoDigitError`, not a guess.
 * - Scaling averages the area each output pixel covers, which is how a
 *   large picture keeps its strokes' grey edges.
 *
 * Also reads PGM (P2 and P5) and draws a 28×28 picture as text shading.
 *
 * @example
 * ```ts
 * import { greyFromChannels } from "./picture.ts";
 * import { mnistDigit, shading } from "./preprocess.ts";
 *
 * // A 5×5 white picture with a black bar down the middle, RGBA.
 * const rgba = new Uint8Array(100).fill(255);
 * for (let y = 1; y < 4; y++) rgba.set([0, 0, 0, 255], (y * 5 + 2) * 4);
 * const digit = mnistDigit(greyFromChannels(rgba, 5, 5, 4, 255));
 * console.log(shading(digit)); // a bar in the middle of 28 lines
 * ```
 * @module
 */

import { findInk } from "./ink.ts";
import { greyFromChannels, type GreyPicture, PictureError } from "./picture.ts";

/** The side of the model's input, and of the box the digit is scaled into. */
export const SIDE = 28;
export const BOX = 20;

/** Reads a PGM picture (P5 binary or P2 text, any maxval up to 65535). */
export function decodePgm(bytes: Uint8Array): GreyPicture {
  const magic = String.fromCharCode(bytes[0], bytes[1]);
  if (magic !== "P5" && magic !== "P2") throw new PictureError("not a PGM file (no P5 or P2)");
  // The header: magic, width, height, maxval, with # comments, then one whitespace.
  const fields: number[] = [];
  let at = 2;
  while (fields.length < 3) {
    while (at < bytes.length && /\s/.test(String.fromCharCode(bytes[at]))) at++;
    if (bytes[at] === 35) { // '#': a comment to the end of the line
      while (at < bytes.length && bytes[at] !== 10) at++;
      continue;
    }
    const start = at;
    while (at < bytes.length && bytes[at] >= 48 && bytes[at] <= 57) at++;
    if (at === start) throw new PictureError("the PGM header is cut short or not numbers");
    fields.push(Number(String.fromCharCode(...bytes.subarray(start, at))));
  }
  const [width, height, max] = fields;
  if (!(width > 0 && height > 0 && max > 0 && max < 65536)) {
    throw new PictureError(`PGM of ${width}×${height}, maxval ${max}`);
  }
  const n = width * height;
  let samples: ArrayLike<number>;
  if (magic === "P5") {
    at++; // the single whitespace after maxval
    const wide = max > 255;
    if (bytes.length - at < n * (wide ? 2 : 1)) throw new PictureError("the PGM data is cut short");
    if (wide) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset + at);
      samples = Uint16Array.from({ length: n }, (_, i) => dv.getUint16(2 * i));
    } else samples = bytes.subarray(at, at + n);
  } else {
    const text = new TextDecoder().decode(bytes.subarray(at)).trim();
    const numbers = text ? text.split(/\s+/).map(Number) : [];
    if (numbers.length < n) throw new PictureError("the PGM data is cut short");
    samples = numbers;
  }
  return greyFromChannels(samples, width, height, 1, max);
}

/** A picture in which no digit was found: blank, or ink too faint or too small to tell. */
export class NoDigitError extends PictureError {
  constructor() {
    super("no digit found");
  }
}

/**
 * The picture as the model's input: 784 bytes 0..255, light ink on black,
 * row-major. Throws a `NoDigitError` when the picture has no digit.
 */
export function mnistDigit(picture: GreyPicture): Uint8Array {
  const found = findInk(picture);
  if (!found) throw new NoDigitError();
  const { width, ink, box } = found;
  const out = new Uint8Array(SIDE * SIDE);
  const x0 = box.x0, y0 = box.y0;
  const cw = box.x1 - x0 + 1, ch = box.y1 - y0 + 1;
  // The longer side to 20 px, the other in proportion (at least 1).
  const scale = BOX / Math.max(cw, ch);
  const tw = Math.max(1, Math.round(cw * scale)), th = Math.max(1, Math.round(ch * scale));
  const small = resample(ink, width, x0, y0, cw, ch, tw, th);

  // The centre of mass goes to the centre of the 28×28 field.
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const v = small[y * tw + x];
      mass += v;
      mx += v * x;
      my += v * y;
    }
  }
  const centre = (SIDE - 1) / 2;
  const ox = Math.round(centre - mx / mass), oy = Math.round(centre - my / mass);
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const X = x + ox, Y = y + oy;
      if (X >= 0 && X < SIDE && Y >= 0 && Y < SIDE) {
        out[Y * SIDE + X] = Math.min(255, Math.round(small[y * tw + x]));
      }
    }
  }
  return out;
}

/**
 * The region (`x0`,`y0`, `cw`×`ch`) of `src` (rows of `width`) scaled to
 * `tw`×`th`: each output pixel is the average of the area it covers.
 */
function resample(
  src: Float32Array,
  width: number,
  x0: number,
  y0: number,
  cw: number,
  ch: number,
  tw: number,
  th: number,
): Float32Array {
  const out = new Float32Array(tw * th);
  const sx = cw / tw, sy = ch / th;
  for (let ty = 0; ty < th; ty++) {
    const top = ty * sy, bottom = top + sy;
    for (let tx = 0; tx < tw; tx++) {
      const left = tx * sx, right = left + sx;
      let sum = 0;
      for (let y = Math.floor(top); y < bottom; y++) {
        const hy = Math.min(bottom, y + 1) - Math.max(top, y);
        for (let x = Math.floor(left); x < right; x++) {
          const wx = Math.min(right, x + 1) - Math.max(left, x);
          sum += src[(y0 + y) * width + x0 + x] * wx * hy;
        }
      }
      out[ty * tw + tx] = sum / (sx * sy);
    }
  }
  return out;
}

/** Shades from none to full ink, for `shading`. */
const SHADES = " .:-=+*#%@";

/** A 28×28 digit (0..255, ink light) as 28 lines of text, darker characters for more ink. */
export function shading(digit: ArrayLike<number>): string {
  const lines: string[] = [];
  for (let y = 0; y < SIDE; y++) {
    let line = "";
    for (let x = 0; x < SIDE; x++) {
      const v = digit[y * SIDE + x];
      // Two characters per pixel: terminal cells are about twice as tall as wide.
      const c = SHADES[Math.min(SHADES.length - 1, Math.floor((v / 256) * SHADES.length))];
      line += c + c;
    }
    lines.push(line.trimEnd());
  }
  return lines.join("\n");
}
