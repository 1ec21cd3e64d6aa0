/**
 * PNG pictures into grey levels, decoded by the npm `fast-png` library
 * (pinned in this folder's `deno.json`, so serving never downloads it):
 * any bit depth, grey, grey+alpha, RGB, RGBA or a palette, with
 * transparency composited onto white.
 *
 * @example
 * ```ts
 * import { encode } from "fast-png";
 * import { decodePngGrey, isPng } from "./png.ts";
 *
 * // What `Deno.readFile("digit.png")` would give: a 28×28 white picture.
 * const bytes = encode({ width: 28, height: 28, channels: 1, data: new Uint8Array(784).fill(255) });
 * if (isPng(bytes)) console.log(decodePngGrey(bytes).width); // 28
 * ```
 * @module
 */
import { convertIndexedToRgb, decode, hasPngSignature } from "fast-png";
import { greyFromChannels, type GreyPicture, PictureError } from "../picture.ts";

/** Whether `bytes` start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return hasPngSignature(bytes);
}

/** Decodes a PNG into grey levels 0..255. */
export function decodePngGrey(bytes: Uint8Array): GreyPicture {
  let png;
  try {
    png = decode(bytes);
  } catch (e) {
    throw new PictureError(`not a readable PNG: ${(e as Error).message}`);
  }
  const { width, height } = png;
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    return greyFromChannels(rgb, width, height, png.palette[0].length, 255);
  }
  const max = 2 ** png.depth - 1;
  let data: ArrayLike<number> = png.data;
  if (png.depth < 8) data = unpackBits(png.data, width * png.channels, height, png.depth);
  return greyFromChannels(data, width, height, png.channels, max);
}

/** Samples of fewer than 8 bits, packed with each row starting on a byte, one per element. */
function unpackBits(packed: ArrayLike<number>, perRow: number, rows: number, depth: number) {
  const out = new Uint8Array(perRow * rows);
  const rowBytes = Math.ceil((perRow * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < rows; y++) {
    for (let i = 0; i < perRow; i++) {
      const bit = i * depth;
      const byte = packed[y * rowBytes + (bit >> 3)];
      out[y * perRow + i] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}
