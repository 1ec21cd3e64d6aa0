import assert from "node:assert/strict";
import { DigitCopies } from "./digit_copies.ts";

Deno.test("each copy is the digit's 784 bytes, its own, whatever the source does next", () => {
  const copies = new DigitCopies();
  const source = new Uint8Array(800);
  const held: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    source.fill(i);
    held.push(copies.copy(source));
  }
  source.fill(255);
  for (const [i, copy] of held.entries()) {
    assert.equal(copy.length, 784);
    assert.ok(copy.every((v) => v === i), `copy ${i} changed`);
  }
  const short = copies.copy(Uint8Array.of(1, 2, 3));
  assert.deepEqual([...short.subarray(0, 4)], [1, 2, 3, 0]);
});
