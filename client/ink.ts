/**
 * Finds the digit's ink in a picture taken the way people take them: a phone
 * photo of paper, with grain, uneven light, a shadow across a corner and
 * specks of dirt.
 *
 * 1. Large photos are first averaged down to at most {@link WORK_SIDE} px on
 *    the longer side (strokes keep their grey edges; noise is averaged).
 * 2. The paper is what the border mostly is (its median); it is light when
 *    it is nearer the picture's lightest levels than its darkest, however
 *    dim the photo. Light-on-dark pictures are turned over so that ink is
 *    always darker than paper.
 * 3. The paper's own brightness is estimated everywhere by a morphological
 *    closing (the largest level within a radius, then the smallest): strokes
 *    narrower than the window vanish from it, light gradients and shadows
 *    wider than it stay. Ink is how much darker than that paper a pixel is,
 *    so uneven light and a thumb's shadow are not ink.
 * 4. One global threshold splits ink from paper: Otsu's, on the ink levels
 *    after a 3×3 mean (which keeps single noisy pixels from crossing it;
 *    pictures under 56 px a side are taken as they are).
 * 5. Connected strokes (8-neighbours) above it are labelled; the largest is
 *    the digit, and other strokes join it when they are at least a twentieth
 *    of its size and near it (the top of a 5, a broken stroke). Smaller ones
 *    are specks and are ignored.
 *
 * There is no digit when ink and paper are not clearly apart (less than
 * {@link MIN_CONTRAST} grey levels, or less than {@link MIN_SEPARATION}
 * times the paper's own spread), or when the largest stroke is too small.
 *
 * @example
 * ```ts
 * import { findInk } from "./ink.ts";
 *
 * const grey = new Float32Array(40 * 40).fill(230); // grey paper
 * for (let y = 8; y < 32; y++) for (let x = 18; x < 22; x++) grey[y * 40 + x] = 40; // a 1
 * const found = findInk({ width: 40, height: 40, grey });
 * console.log(found?.box); // { x0: 18, y0: 8, x1: 21, y1: 31 }
 * ```
 * @module
 */
import type { GreyPicture } from "./picture.ts";
import { boxMean3, maxFilter, minFilter } from "./_grey_filters.ts";

/** Pictures larger than this on their longer side are averaged down to it first. */
export const WORK_SIDE = 600;
/** Ink and paper must differ by at least this many grey levels (0..255). */
export const MIN_CONTRAST = 36;
/** ... and by this many times the spread (standard deviation) of the paper's levels. */
export const MIN_SEPARATION = 4;
/** Pictures at least this large on their shorter side are averaged 3×3 before the threshold. */
const SMOOTH_FROM = 56;
/** A stroke joins the largest when it has at least this share of its pixels. */
const JOIN_SHARE = 1 / 20;

/** The ink of a picture: light (0..255, its strongest at 255) on 0, and where it is. */
export interface Ink {
  width: number;
  height: number;
  /** Ink levels, row-major; 0 outside the digit's strokes. */
  ink: Float32Array;
  /** The digit's bounding box, inclusive. */
  box: { x0: number; y0: number; x1: number; y1: number };
}

/** The digit's ink, or null when the picture has none (blank, or too faint to tell). */
export function findInk(picture: GreyPicture): Ink | null {
  const { width: w, height: h, grey } = shrink(picture);
  const n = w * h;
  // Paper light, ink dark, whichever way round the picture was.
  // The border is mostly paper; paper is light when it is nearer the light end of the picture's
  // levels than the dark end (ignoring the 1% extremes), however dim the photo.
  const greys = Float32Array.from(grey).sort();
  const middle = (greys[Math.floor(n * 0.01)] + greys[Math.floor(n * 0.99)]) / 2;
  const inverted = borderMedian(grey, w, h) < middle;
  const paperUp = new Float32Array(n);
  for (let i = 0; i < n; i++) paperUp[i] = inverted ? 255 - grey[i] : grey[i];
  const radius = Math.max(1, Math.round(Math.min(w, h) / 6));
  const paper = minFilter(maxFilter(paperUp, w, h, radius), w, h, radius);
  const ink = new Float32Array(n);
  for (let i = 0; i < n; i++) ink[i] = Math.max(0, paper[i] - paperUp[i]);

  // Small pictures (drawn, or MNIST's own) have no camera noise to average, and a 3×3 mean
  // would smear their few pixels.
  const smooth = Math.min(w, h) >= SMOOTH_FROM ? boxMean3(ink, w, h) : ink;
  // The paper's level and spread (median, and MAD as a standard deviation): Otsu's split is
  // taken among the pixels clearly above it, so that a small digit on a large sheet is not
  // lost to a split inside the paper's own noise.
  const sorted = Float32Array.from(smooth).sort();
  const paperLevel = sorted[n >> 1];
  const deviations = sorted.map((v) => Math.abs(v - paperLevel)).sort();
  const spread = 1.4826 * deviations[n >> 1];
  const floor = paperLevel + 3 * spread;
  const candidates = sorted.subarray(sorted.findIndex((v) => v > floor) >>> 0);
  if (candidates.length === 0 || sorted[n - 1] <= floor) return null;
  const split = otsu(candidates);
  const contrast = split.above - paperLevel;
  if (contrast < MIN_CONTRAST || contrast < MIN_SEPARATION * spread) return null;

  // Hysteresis: strokes are grown from the pixels above Otsu's split through every pixel
  // clearly darker than paper, so that a stroke's fainter half stays joined to it.
  const low = Math.max(floor, paperLevel + 0.4 * (split.threshold - paperLevel));
  const { labels, strokes: all } = components(smooth, w, h, low);
  const strokes = all.filter((s) => s.peak > split.threshold);
  if (strokes.length === 0) return null;
  const largest = strokes.reduce((a, b) => (b.size > a.size ? b : a));
  const side = Math.max(largest.x1 - largest.x0, largest.y1 - largest.y0) + 1;
  if (side < Math.max(2, Math.min(w, h) / 20)) return null;
  const near = side / 2;
  const kept = new Set<number>();
  const box = { x0: w, y0: h, x1: -1, y1: -1 };
  for (const s of strokes) {
    const gapX = Math.max(0, s.x0 - largest.x1, largest.x0 - s.x1);
    const gapY = Math.max(0, s.y0 - largest.y1, largest.y0 - s.y1);
    if (s !== largest && (s.size < largest.size * JOIN_SHARE || Math.max(gapX, gapY) > near)) {
      continue;
    }
    kept.add(s.label);
    box.x0 = Math.min(box.x0, s.x0), box.y0 = Math.min(box.y0, s.y0);
    box.x1 = Math.max(box.x1, s.x1), box.y1 = Math.max(box.y1, s.y1);
  }

  // The kept strokes and a pixel around them (their grey edges); the rest is paper.
  const out = new Float32Array(n);
  const levels: number[] = [];
  for (let y = box.y0; y <= box.y1; y++) {
    for (let x = box.x0; x <= box.x1; x++) {
      const i = y * w + x;
      if (kept.has(labels[i])) levels.push(ink[i]);
      let touches = false;
      for (let dy = -1; dy <= 1 && !touches; dy++) {
        for (let dx = -1; dx <= 1 && !touches; dx++) {
          const X = x + dx, Y = y + dy;
          touches = X >= 0 && X < w && Y >= 0 && Y < h && kept.has(labels[Y * w + X]);
        }
      }
      if (touches) out[i] = ink[i];
    }
  }
  // The strongest ink, less a few outliers (JPEG ringing, a glint), is full ink.
  levels.sort((a, b) => a - b);
  const full = levels[Math.floor(levels.length * 0.9)] || 1;
  for (let i = 0; i < n; i++) out[i] = Math.min(255, (out[i] / full) * 255);
  return { width: w, height: h, ink: out, box };
}

/** The median of the border pixels: what the picture's background is. */
export function borderMedian(grey: Float32Array, width: number, height: number): number {
  const border: number[] = [];
  for (let x = 0; x < width; x++) border.push(grey[x], grey[(height - 1) * width + x]);
  for (let y = 1; y < height - 1; y++) border.push(grey[y * width], grey[y * width + width - 1]);
  border.sort((a, b) => a - b);
  return border[border.length >> 1];
}

/** The picture averaged down by a whole factor so that its longer side is at most WORK_SIDE. */
function shrink(picture: GreyPicture): GreyPicture {
  const { width, height, grey } = picture;
  const k = Math.ceil(Math.max(width, height) / WORK_SIDE);
  if (k <= 1) return picture;
  const w = Math.floor(width / k), h = Math.floor(height / k);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h * k; y++) {
    for (let x = 0; x < w * k; x++) {
      out[Math.floor(y / k) * w + Math.floor(x / k)] += grey[y * width + x];
    }
  }
  for (let i = 0; i < out.length; i++) out[i] /= k * k;
  return { width: w, height: h, grey: out };
}

/** Otsu's threshold over 256 levels, and the two classes' means and the lower one's spread. */
export function otsu(
  levels: Float32Array,
): { threshold: number; below: number; above: number; belowSpread: number } {
  const histogram = new Float64Array(256);
  for (const v of levels) histogram[Math.min(255, Math.max(0, Math.round(v)))]++;
  const total = levels.length;
  let sumAll = 0;
  for (let i = 0; i < 256; i++) sumAll += i * histogram[i];
  let best = -1, threshold = 0, countBelow = 0, sumBelow = 0;
  for (let t = 0; t < 255; t++) {
    countBelow += histogram[t];
    sumBelow += t * histogram[t];
    const countAbove = total - countBelow;
    if (countBelow === 0 || countAbove === 0) continue;
    const m0 = sumBelow / countBelow, m1 = (sumAll - sumBelow) / countAbove;
    const between = countBelow * countAbove * (m1 - m0) ** 2;
    if (between > best) best = between, threshold = t;
  }
  let c0 = 0, s0 = 0, q0 = 0, c1 = 0, s1 = 0;
  for (let i = 0; i < 256; i++) {
    if (i <= threshold) c0 += histogram[i], s0 += i * histogram[i], q0 += i * i * histogram[i];
    else c1 += histogram[i], s1 += i * histogram[i];
  }
  const below = c0 ? s0 / c0 : 0, above = c1 ? s1 / c1 : 0;
  const belowSpread = c0 ? Math.sqrt(Math.max(0, q0 / c0 - below * below)) : 0;
  return { threshold: threshold + 0.5, below, above, belowSpread };
}

/** A connected stroke: its label, pixel count and bounding box. */
interface Stroke {
  label: number;
  size: number;
  /** The highest level in it. */
  peak: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Labels the 8-connected regions above `threshold` (labels from 1; 0 is paper). */
function components(levels: Float32Array, w: number, h: number, threshold: number) {
  const labels = new Int32Array(w * h);
  const strokes: Stroke[] = [];
  const stack = new Int32Array(w * h);
  for (let start = 0; start < labels.length; start++) {
    if (labels[start] || levels[start] <= threshold) continue;
    const s: Stroke = {
      label: strokes.length + 1,
      size: 0,
      peak: 0,
      x0: w,
      y0: h,
      x1: -1,
      y1: -1,
    };
    let top = 0;
    stack[top++] = start;
    labels[start] = s.label;
    while (top > 0) {
      const i = stack[--top];
      const x = i % w, y = (i - x) / w;
      s.size++;
      s.peak = Math.max(s.peak, levels[i]);
      s.x0 = Math.min(s.x0, x), s.y0 = Math.min(s.y0, y);
      s.x1 = Math.max(s.x1, x), s.y1 = Math.max(s.y1, y);
      for (let Y = Math.max(0, y - 1); Y <= Math.min(h - 1, y + 1); Y++) {
        for (let X = Math.max(0, x - 1); X <= Math.min(w - 1, x + 1); X++) {
          const j = Y * w + X;
          if (!labels[j] && levels[j] > threshold) labels[j] = s.label, stack[top++] = j;
        }
      }
    }
    strokes.push(s);
  }
  return { labels, strokes };
}
