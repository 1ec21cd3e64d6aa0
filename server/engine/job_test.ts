import assert from "node:assert/strict";
import { DIGIT_PIXELS } from "../../shared/codec.ts";
import { digitJob, fillInput, normalizeDigit } from "./job.ts";

Deno.test("a byte digit becomes b / 255 as float32, for every byte value and either kind of array", () => {
  const bytes = Uint8Array.from({ length: DIGIT_PIXELS }, (_, i) => i % 256);
  const expected = Float32Array.from(bytes, (b) => b / 255);
  const fromBytes = new Float32Array(DIGIT_PIXELS);
  normalizeDigit(bytes, null, fromBytes);
  assert.deepEqual(fromBytes, expected);
  const fromArray = new Float32Array(DIGIT_PIXELS);
  normalizeDigit(Array.from(bytes), null, fromArray);
  assert.deepEqual(fromArray, expected);
});

Deno.test("fillInput writes each job's digit at its place in the batch", () => {
  const a = new Uint8Array(DIGIT_PIXELS).fill(255);
  const b = new Uint8Array(DIGIT_PIXELS).fill(51);
  const done = () => {};
  const input = new Float32Array(2 * DIGIT_PIXELS);
  fillInput([
    digitJob(a, null, false, done, null, false),
    digitJob(b, null, false, done, null, false),
  ], input);
  assert.deepEqual(input[0], 1);
  assert.deepEqual(input[DIGIT_PIXELS - 1], 1);
  assert.deepEqual(input[DIGIT_PIXELS], Math.fround(0.2));
});
