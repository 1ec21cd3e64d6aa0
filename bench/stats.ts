/**
 * Summary statistics for latency samples: percentiles by linear
 * interpolation between closest ranks (NumPy's default, so figures match a
 * notebook's), summaries and histograms.
 *
 * @example
 * ```ts
 * import { histogram, percentile, summarize } from "./stats.ts";
 *
 * const latencies = [1.2, 0.9, 1.1, 5.0, 1.0];
 * console.log(percentile([...latencies].sort((a, b) => a - b), 50)); // 1.1
 * console.log(summarize(latencies)); // { count: 5, min: 0.9, p50: 1.1, ... }
 * console.log(histogram(latencies, 4).counts); // [4, 0, 0, 1]
 * ```
 * @module
 */

/** What a run's latencies come to, all in the samples' unit. */
export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * The `p`th percentile (0..100) of values sorted ascending, interpolating
 * linearly between the two closest ranks. NaN for no values.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (p <= 0) return sorted[0];
  if (p >= 100) return sorted[n - 1];
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** A sorted copy, as a Float64Array (numeric order, not string order). */
export function sorted(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** The median of unsorted values. */
export function median(values: ArrayLike<number>): number {
  return percentile(sorted(values), 50);
}

/** Count, min, mean, p50, p90, p99 and max of unsorted values; NaN figures for none. */
export function summarize(values: ArrayLike<number>): Summary {
  const s = sorted(values);
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i];
  return {
    count: s.length,
    min: s.length ? s[0] : NaN,
    mean: s.length ? sum / s.length : NaN,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1] : NaN,
  };
}

/** Counts of values in equal-width bins from `min` to `max`; `edges` has one more entry than `counts`. */
export interface Histogram {
  edges: number[];
  counts: number[];
}

/**
 * Bins values into `bins` equal-width bins spanning their range (or
 * `[lo, hi]` when given; values outside go to the end bins).
 */
export function histogram(
  values: ArrayLike<number>,
  bins: number,
  range?: [number, number],
): Histogram {
  let lo = range ? range[0] : Infinity;
  let hi = range ? range[1] : -Infinity;
  if (!range) {
    for (let i = 0; i < values.length; i++) {
      if (values[i] < lo) lo = values[i];
      if (values[i] > hi) hi = values[i];
    }
  }
  if (!Number.isFinite(lo)) lo = hi = 0;
  if (hi <= lo) hi = lo + 1;
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const bin = Math.floor((values[i] - lo) / width);
    counts[Math.max(0, Math.min(bins - 1, bin))]++;
  }
  return { edges, counts };
}
