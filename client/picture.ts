/**
 * A picture in grey levels, as every reader of pictures (PGM, PNG, JPEG)
 * hands it to `preprocess.ts` and `ink.ts`, and the error of a picture that
 * cannot be used.
 *
 * @example
 * ```ts
 * import { greyFromChannels } from "./picture.ts";
 *
 * const picture = greyFromChannels([255, 0, 0, 255], 1, 1, 4, 255); // one red pixel
 * console.log(Math.round(picture.grey[0])); // 76: red's share of the light
 * ```
 * @module
 */

/** A picture in grey levels 0 (black) .. 255 (white), row-major. */
export interface GreyPicture {
  width: number;
  height: number;
  grey: Float32Array;
}

/** A picture that cannot be used, with a sentence saying why. */
export class PictureError extends Error {}

/**
 * Grey levels from interleaved samples: 1 channel grey, 2 grey and alpha,
 * 3 RGB, 4 RGBA, each 0..`max`. Alpha is composited onto white.
 */
export function greyFromChannels(
  data: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  max: number,
): GreyPicture {
  if (!(channels >= 1 && channels <= 4)) throw new PictureError(`${channels} channels`);
  const n = width * height;
  if (data.length < n * channels) throw new PictureError("the picture's data is cut short");
  const grey = new Float32Array(n);
  const scale = 255 / max;
  for (let i = 0; i < n; i++) {
    const at = i * channels;
    let value: number;
    if (channels <= 2) value = data[at];
    else value = 0.299 * data[at] + 0.587 * data[at + 1] + 0.114 * data[at + 2];
    value *= scale;
    if (channels === 2 || channels === 4) {
      const alpha = data[at + channels - 1] / max;
      value = value * alpha + 255 * (1 - alpha);
    }
    grey[i] = value;
  }
  return { width, height, grey };
}
