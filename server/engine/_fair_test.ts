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

Deno.test("a quiet owner's item goes first however many busy lanes share the turn", () => {
  const queue = new FairQueue<string>();
  for (let owner = 0; owner < 40; owner++) {
    for (let i = 0; i < 100; i++) queue.push(owner, `${owner}.${i}`);
  }
  // Every busy lane has been served once and waits in the turn.
  assert.equal(queue.take(40).length, 40);
  queue.push("board", "b0");
  const batch = queue.take(16);
  assert.equal(batch[0], "b0");
  // The turn goes on where it was: lane 0 and 1 again, in order.
  assert.deepEqual(batch.slice(1, 3), ["0.1", "1.1"]);
  // Once served, the board's next item waits its turn like everyone's.
  queue.push("board", "b1");
  queue.push("board", "b2");
  assert.equal(queue.take(1)[0], "b1");
  assert.notEqual(queue.take(1)[0], "b2");
});

Deno.test("deep lanes: owners with more than one item waiting are counted as items come and go", () => {
  const queue = new FairQueue<string>();
  queue.push("a", "a0");
  queue.push("b", "b0");
  assert.equal(queue.deepLanes, 0);
  queue.push("a", "a1");
  queue.push("a", "a2");
  assert.equal(queue.deepLanes, 1);
  queue.push("b", "b1");
  assert.equal(queue.deepLanes, 2);
  assert.deepEqual(queue.take(2), ["a0", "b0"]);
  assert.equal(queue.deepLanes, 1);
  assert.deepEqual(queue.take(3), ["a1", "b1", "a2"]);
  assert.equal(queue.deepLanes, 0);
  assert.equal(queue.length, 0);
});
