// Views cut from shared slabs (server/core/byte_slab.ts): none overlaps
// another, a full slab gives way to a new one, a large request gets its own.
import assert from "node:assert/strict";
import { ByteSlab } from "./byte_slab.ts";

Deno.test("views never overlap, start 8-aligned, and a full slab gives way to a new one", () => {
  const slab = new ByteSlab(64);
  const views = [5, 8, 13, 20, 30, 1, 64].map((n) => slab.take(n));
  views.forEach((view, i) => view.fill(i + 1));
  views.forEach((view, i) => {
    assert.ok(view.every((b) => b === i + 1), `view ${i} was overwritten`);
    assert.equal(view.byteOffset % 8, 0);
  });
  assert.equal(views[0].buffer, views[1].buffer);
  assert.notEqual(views[3].buffer, views[4].buffer); // 24 + 16 + 24 = 64: the fourth filled it
  assert.equal(views.map((v) => v.length).join(), "5,8,13,20,30,1,64");
});

Deno.test("a request larger than a slab gets a buffer of its own, zeroed", () => {
  const slab = new ByteSlab(16);
  const small = slab.take(8);
  const large = slab.take(100);
  assert.equal(large.buffer.byteLength, 100);
  assert.ok(large.every((b) => b === 0));
  assert.equal(slab.take(8).buffer, small.buffer); // the slab in use is kept
});
