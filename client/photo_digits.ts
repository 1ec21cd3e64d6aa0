/**
 * Photo-like pictures of MNIST digits, for the classify tests: what a phone
 * makes of a digit written on paper. Each is RGB, about 180 px a side, the
 * digit written in dark ink at about 5 to 6 times MNIST's size, turned a few
 * degrees (up to 6 either way) and placed off-centre, on paper with its own
 * texture (blotches and grain), lit unevenly (a gradient across the sheet,
 * darker corners), with a thumb's soft shadow over one edge, and camera
 * noise; the tests then save it as JPEG at quality 60. Everything comes from
 * a seeded generator, so picture `i` is the same on every run.
 *
 * @example
 * ```ts
 * import { photoOfDigit } from "./photo_digits.ts";
 *
 * const pixels = new Float32Array(784); // 0 = paper .. 1 = ink, as models/mnist_data.ts gives
 * for (let y = 4; y < 24; y++) pixels[y * 28 + 14] = 1; // a 1
 * const photo = photoOfDigit(pixels, 7);
 * console.log(photo.width, photo.height, photo.rgb.length); // RGB, 3 bytes a pixel
 * ```
 * @module
 */
import { prng } from "../shared/testing.ts";

/** An RGB picture, 3 bytes a pixel, row-major. */
export interface PhotoPicture {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** A normally distributed number (Box-Muller). */
function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/** The digit's ink (0..1) at a point in its own 28×28 coordinates, bilinear, 0 outside. */
function inkAt(pixels: Float32Array, x: number, y: number): number {
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const fx = x - x0, fy = y - y0;
  const at = (X: number, Y: number) =>
    X >= 0 && X < 28 && Y >= 0 && Y < 28 ? pixels[Y * 28 + X] : 0;
  return (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) +
    (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
}

/** Smooth random bumps across the sheet: a coarse grid of values, interpolated. */
function blotches(next: () => number, width: number, height: number, cells: number) {
  const grid = Array.from({ length: (cells + 1) * (cells + 1) }, () => next() * 2 - 1);
  return (x: number, y: number) => {
    const gx = (x / width) * cells, gy = (y / height) * cells;
    const x0 = Math.min(cells - 1, Math.floor(gx)), y0 = Math.min(cells - 1, Math.floor(gy));
    const fx = gx - x0, fy = gy - y0;
    const g = (X: number, Y: number) => grid[Y * (cells + 1) + X];
    return (g(x0, y0) * (1 - fx) + g(x0 + 1, y0) * fx) * (1 - fy) +
      (g(x0, y0 + 1) * (1 - fx) + g(x0 + 1, y0 + 1) * fx) * fy;
  };
}

/** Picture `seed` of `pixels` (784 values, 0 = paper .. 1 = ink), as a phone would take it. */
export function photoOfDigit(pixels: Float32Array, seed: number): PhotoPicture {
  const next = prng(seed * 7919 + 1);
  const width = 170 + Math.floor(next() * 30), height = 170 + Math.floor(next() * 30);
  const scale = 5 + next();
  const angle = ((next() * 2 - 1) * 6 * Math.PI) / 180;
  const side = 28 * scale;
  // Where the digit's 28×28 field sits: off-centre, never clipped.
  const left = 4 + next() * (width - side - 8), top = 4 + next() * (height - side - 8);
  const cx = left + side / 2, cy = top + side / 2;
  const cos = Math.cos(angle), sin = Math.sin(angle);

  const paper = 200 + next() * 30;
  const inkLevel = 25 + next() * 45;
  const texture = blotches(next, width, height, 6);
  // Light falls off across the sheet in one direction, to 60..80% at the far side.
  const lightAngle = next() * 2 * Math.PI;
  const falloff = 0.2 + next() * 0.2;
  const [lx, ly] = [Math.cos(lightAngle), Math.sin(lightAngle)];
  // The thumb: an ellipse over one edge, its shadow soft over 25 px.
  const edge = Math.floor(next() * 4);
  const along = 0.2 + next() * 0.6;
  const [tx, ty] = [
    [along * width, -height * 0.05],
    [width * 1.05, along * height],
    [along * width, height * 1.05],
    [-width * 0.05, along * height],
  ][edge];
  const [ra, rb] = [width * (0.15 + next() * 0.1), height * (0.15 + next() * 0.1)];
  const shade = 0.7 + next() * 0.15;

  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Into the digit's own coordinates: undo the turn about its centre, then the scale.
      const dx = x - cx, dy = y - cy;
      const u = (cos * dx + sin * dy) / scale + 14 - 0.5;
      const v = (-sin * dx + cos * dy) / scale + 14 - 0.5;
      const ink = Math.min(1, inkAt(pixels, u, v));
      const sheet = paper + 12 * texture(x, y) + 4 * gaussian(next);
      let level = sheet * (1 - ink) + inkLevel * ink;
      // Uneven light: the gradient, darker corners.
      const across = ((x / width - 0.5) * lx + (y / height - 0.5) * ly) + 0.5;
      const corner = ((x / width - 0.5) ** 2 + (y / height - 0.5) ** 2) * 0.5;
      level *= 1 - falloff * Math.min(1, Math.max(0, across)) - corner;
      // The thumb's shadow: full inside the ellipse, fading over 25 px outside it.
      const r = Math.sqrt(((x - tx) / ra) ** 2 + ((y - ty) / rb) ** 2);
      const outside = (r - 1) * Math.min(ra, rb);
      const inShadow = outside <= 0 ? 1 : Math.max(0, 1 - outside / 25);
      level *= 1 - (1 - shade) * inShadow;
      // A warm cast and camera noise, per channel.
      const at = (y * width + x) * 3;
      rgb[at] = clamp(level * 1.0 + 6 * gaussian(next));
      rgb[at + 1] = clamp(level * 0.96 + 6 * gaussian(next));
      rgb[at + 2] = clamp(level * 0.88 + 6 * gaussian(next));
    }
  }
  return { width, height, rgb };
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}
