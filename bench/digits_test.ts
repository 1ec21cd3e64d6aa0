import assert from "node:assert/strict";
import { garbageFloats, loadDigits, syntheticDigits } from "./digits.ts";

Deno.test("mnist digits are the 1,000 held-out ones, as bytes with labels", async () => {
  const set = await loadDigits("mnist");
  assert.equal(set.digits.length, 1000);
  assert.equal(set.digits[0].length, 784);
  assert.deepEqual(
    Array.from({ length: 10 }, (_, c) => set.labels.filter((l) => l === c).length),
    new Array(10).fill(100),
  );
  const ink = set.digits[0].reduce((n, p) => n + (p > 128 ? 1 : 0), 0);
  assert.ok(ink > 30 && ink < 400, `ink pixels ${ink}`);
});

Deno.test("synthetic digits are deterministic, mostly background with some ink", () => {
  const a = syntheticDigits(6);
  const b = syntheticDigits(6);
  assert.deepEqual(a.digits, b.digits);
  assert.deepEqual(a.labels, new Array(6).fill(-1));
  for (const digit of a.digits) {
    const ink = digit.reduce((n, p) => n + (p > 0 ? 1 : 0), 0);
    assert.ok(ink > 20 && ink < 392, `ink pixels ${ink}`);
  }
});

Deno.test("garbage floats hold NaN, infinities and huge values like uninitialised memory", () => {
  const junk = garbageFloats(7);
  assert.equal(junk.length, 784);
  assert.ok(junk.some(Number.isNaN));
  assert.ok(junk.some((v) => v === Infinity || v === -Infinity));
  assert.ok(junk.some((v) => Number.isFinite(v) && Math.abs(v) > 1e6));
  assert.deepEqual(garbageFloats(7), junk);
});
