import assert from "node:assert/strict";
import { RecentDigits } from "./devices.ts";

Deno.test("recent digits: the last 16, bytes or clamped floats", () => {
  const digits = new RecentDigits(16);
  for (let i = 0; i < 20; i++) {
    digits.push(new Uint8Array(784).fill(i), null, i % 10, 0.5, "framed");
  }
  digits.push(null, new Float32Array(784).fill(2), 3, 0.9, "legacy");
  const list = digits.list();
  assert.equal(list.length, 16);
  assert.equal(atob(list[0].pixels).charCodeAt(0), 5);
  assert.equal(atob(list[15].pixels).charCodeAt(0), 255);
  assert.equal(list[15].predicted, 3);
});
