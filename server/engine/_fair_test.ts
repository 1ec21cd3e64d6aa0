import assert from "node:assert/strict";
import { FairQueue } from "./_fair.ts";

Deno.test("owners are served in turn: one digit of a quiet owner goes before a flood", () => {
  const queue = new FairQueue<string>();
  for (let i = 0; i < 1000; i++) queue.push("flood", `f${i}`);
  queue.push("board", "b0");
  const batch = queue.take(4);
  assert.deepEqual(batch, ["f0", "b0", "f1", "f2"]);
  assert.equal(queue.length, 997);
});

Deno.test("each owner's items keep their order, and every item is taken once", () => {
  const queue = new FairQueue<number>();
  for (let i = 0; i < 3000; i++) queue.push(i % 3, i);
  const taken: number[] = [];
  while (queue.length > 0) taken.push(...queue.take(128));
  assert.equal(taken.length, 3000);
  assert.deepEqual([...taken].sort((a, b) => a - b), Array.from({ length: 3000 }, (_, i) => i));
  for (const owner of [0, 1, 2]) {
    const own = taken.filter((x) => x % 3 === owner);
    assert.deepEqual(own, [...own].sort((a, b) => a - b));
  }
});

Deno.test("the turn rotates across takes: a lane served last time waits behind the others", () => {
  const queue = new FairQueue<string>();
  for (const owner of ["a", "b", "c"]) {
    for (let i = 0; i < 3; i++) queue.push(owner, `${owner}${i}`);
  }
  assert.deepEqual(queue.take(2), ["a0", "b0"]);
  assert.deepEqual(queue.take(2), ["c0", "a1"]);
});
