import assert from "node:assert/strict";
import { histogram, median, percentile, sorted, summarize } from "./stats.ts";

Deno.test("percentile interpolates between closest ranks, as NumPy does", () => {
  const s = sorted(Array.from({ length: 100 }, (_, i) => i + 1)); // 1..100
  assert.equal(percentile(s, 50), 50.5);
  assert.ok(Math.abs(percentile(s, 90) - 90.1) < 1e-9);
  assert.ok(Math.abs(percentile(s, 99) - 99.01) < 1e-9);
  assert.equal(percentile(s, 0), 1);
  assert.equal(percentile(s, 100), 100);
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});

Deno.test("sorted orders numbers numerically, not as strings", () => {
  assert.deepEqual(Array.from(sorted([10, 9, 100, 1.5])), [1.5, 9, 10, 100]);
  assert.equal(median([3, 1, 2, 10]), 2.5);
});

Deno.test("summarize gives count, mean and percentiles; NaN figures for nothing", () => {
  const s = summarize([4, 1, 3, 2]);
  assert.deepEqual(
    { count: s.count, min: s.min, mean: s.mean, p50: s.p50, max: s.max },
    { count: 4, min: 1, mean: 2.5, p50: 2.5, max: 4 },
  );
  const none = summarize([]);
  assert.equal(none.count, 0);
  assert.ok(Number.isNaN(none.p99) && Number.isNaN(none.mean));
});

Deno.test("histogram bins by equal width and keeps the maximum in the last bin", () => {
  const h = histogram([0, 1, 2, 3, 4, 5, 6, 7, 8, 10], 5);
  assert.deepEqual(h.edges, [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(h.counts, [2, 2, 2, 2, 2]);
  const clamped = histogram([-5, 0.5, 50], 2, [0, 1]);
  assert.deepEqual(clamped.counts, [1, 2]);
  assert.deepEqual(histogram([], 3).counts, [0, 0, 0]);
  assert.deepEqual(histogram([2, 2], 2).counts, [2, 0]);
});
