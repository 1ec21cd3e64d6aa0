/**
 * The grey-level filters the ink finder (`ink.ts`) runs: the largest and
 * the smallest level within a square window (a morphological closing is the
 * one then the other), in time independent of the window's size, and a 3×3
 * mean.
 *
 * @module
 */

/**
 * The largest (or with `pick` = Math.min and `none` = Infinity, smallest)
 * level within `radius` along one line, in time independent of the radius
 * (van Herk / Gil-Werman: running picks within blocks of the window's size,
 * forwards and backwards, meet in two picks per pixel).
 */
function slide(
  src: Float32Array,
  at: (i: number) => number,
  length: number,
  radius: number,
  pick: (a: number, b: number) => number,
  none: number,
  out: Float32Array,
): void {
  const size = 2 * radius + 1;
  const padded = length + 2 * radius;
  const blocks = Math.ceil(padded / size) * size;
  const line = new Float32Array(blocks).fill(none);
  for (let i = 0; i < length; i++) line[i + radius] = src[at(i)];
  const forward = new Float32Array(blocks), backward = new Float32Array(blocks);
  for (let i = 0; i < blocks; i++) {
    forward[i] = i % size === 0 ? line[i] : pick(forward[i - 1], line[i]);
  }
  for (let i = blocks - 1; i >= 0; i--) {
    backward[i] = i % size === size - 1 ? line[i] : pick(backward[i + 1], line[i]);
  }
  // The window of pixel i is line[i .. i + 2r] in padded positions.
  for (let i = 0; i < length; i++) out[at(i)] = pick(backward[i], forward[i + size - 1]);
}

function filter2d(
  src: Float32Array,
  w: number,
  h: number,
  radius: number,
  pick: (a: number, b: number) => number,
  none: number,
): Float32Array {
  const rows = new Float32Array(src.length), out = new Float32Array(src.length);
  for (let y = 0; y < h; y++) slide(src, (x) => y * w + x, w, radius, pick, none, rows);
  for (let x = 0; x < w; x++) slide(rows, (y) => y * w + x, h, radius, pick, none, out);
  return out;
}

export function maxFilter(src: Float32Array, w: number, h: number, radius: number): Float32Array {
  return filter2d(src, w, h, radius, Math.max, -Infinity);
}

export function minFilter(src: Float32Array, w: number, h: number, radius: number): Float32Array {
  return filter2d(src, w, h, radius, Math.min, Infinity);
}

/** Each pixel the mean of its 3×3 neighbourhood (clipped at the edges). */
export function boxMean3(src: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0, count = 0;
      for (let Y = Math.max(0, y - 1); Y <= Math.min(h - 1, y + 1); Y++) {
        for (let X = Math.max(0, x - 1); X <= Math.min(w - 1, x + 1); X++) {
          sum += src[Y * w + X], count++;
        }
      }
      out[y * w + x] = sum / count;
    }
  }
  return out;
}
