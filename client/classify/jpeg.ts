/**
 * JPEG pictures (what phones make) into grey levels, decoded by the npm
 * `jpeg-js` library (pinned in this folder's `deno.json`, so serving never
 * downloads it): baseline and progressive, grey or colour. Pictures are
 * limited to 64 megapixels and 512 MB of decoder memory, so a hostile
 * file cannot take the machine's memory.
 *
 * @example
 * ```ts
 * import { decodeJpegGrey, isJpeg } from "./jpeg.ts";
 *
 * const bytes = await Deno.readFile("photo.jpg");
 * if (isJpeg(bytes)) console.log(decodeJpegGrey(bytes).width);
 * ```
 * @module
 */
import jpeg from "jpeg-js";
import { greyFromChannels, type GreyPicture, PictureError } from "../picture.ts";

/** Whether `bytes` start with a JPEG's start-of-image marker (FF D8 FF). */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Decodes a JPEG into grey levels 0..255. */
export function decodeJpegGrey(bytes: Uint8Array): GreyPicture {
  let picture;
  try {
    picture = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: 64,
      maxMemoryUsageInMB: 512,
    });
  } catch (e) {
    throw new PictureError(`not a readable JPEG: ${String((e as Error).message ?? e)}`);
  }
  const { width, height, data } = picture;
  return greyFromChannels(data, width, height, 4, 255);
}
