// The one timer of many bodies' deadlines (server/http/deadline_queue.ts):
// order, removal, an empty queue, a throwing callback, real timers.
import assert from "node:assert/strict";
import { DeadlineQueue } from "./deadline_queue.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Deadlines of 200 ms with steps of 100-150 ms between: a loaded machine's
// late timer moves no check past the next deadline.
Deno.test("deadlines fall due oldest first, each once, and a removed one never", async () => {
  const deadlines = new DeadlineQueue(200);
  const due: string[] = [];
  const first = deadlines.add(() => due.push("first"));
  await sleep(100);
  const second = deadlines.add(() => due.push("second"));
  const removed = deadlines.add(() => due.push("removed"));
  const third = deadlines.add(() => due.push("third"));
  deadlines.remove(removed);
  deadlines.remove(removed); // a second removal changes nothing
  assert.deepEqual(deadlines.size, 3);
  await sleep(150); // past the first deadline only
  assert.deepEqual(due, ["first"]);
  assert.ok(first.expired && !second.expired);
  await sleep(150);
  assert.deepEqual(due, ["first", "second", "third"]);
  assert.ok(second.expired && third.expired && !removed.expired);
  assert.deepEqual(deadlines.size, 0);
  deadlines.remove(first); // removing an expired deadline changes nothing
  assert.deepEqual(deadlines.size, 0);
});

Deno.test("removing the oldest leaves the timer to find the next one", async () => {
  const deadlines = new DeadlineQueue(200);
  const due: string[] = [];
  const oldest = deadlines.add(() => due.push("oldest"));
  await sleep(100);
  const next = deadlines.add(() => due.push("next"));
  deadlines.remove(oldest);
  await sleep(150); // the timer woke at the oldest's time and found the next not yet due
  assert.deepEqual(due, []);
  await sleep(150);
  assert.deepEqual(due, ["next"]);
  assert.ok(next.expired);
});

Deno.test("an empty queue holds no timer, and a throwing callback stops no other", async () => {
  // The test's sanitizer fails a test that ends with a timer pending: the
  // queue emptied by removals must have stopped its own.
  const idle = new DeadlineQueue(60_000);
  for (const deadline of [idle.add(() => {}), idle.add(() => {})]) idle.remove(deadline);
  assert.deepEqual(idle.size, 0);

  const deadlines = new DeadlineQueue(5);
  const due: number[] = [];
  deadlines.add(() => {
    throw new Error("a callback that throws");
  });
  deadlines.add(() => due.push(2));
  await sleep(30);
  assert.deepEqual(due, [2]);
  assert.deepEqual(deadlines.size, 0);
});

Deno.test("a deadline added after the queue emptied is watched again", async () => {
  const deadlines = new DeadlineQueue(5);
  let count = 0;
  deadlines.add(() => count++);
  await sleep(20);
  assert.deepEqual(count, 1);
  const again = deadlines.add(() => count++);
  await sleep(20);
  assert.deepEqual(count, 2);
  assert.ok(again.expired);
});
