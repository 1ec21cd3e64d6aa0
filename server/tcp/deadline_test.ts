import assert from "node:assert/strict";
import { Deadline } from "./deadline.ts";

const after = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));

Deno.test("a race ends at the deadline, or with the work when it comes first", async () => {
  const deadline = new Deadline();
  deadline.set(performance.now() + 30);
  assert.equal(await deadline.race(after(500, "late")), "timeout");
  deadline.set(performance.now() + 500);
  assert.equal(await deadline.race(after(10, "done")), "done");
  deadline.clear();
});

Deno.test("a deadline moved later is kept, and one already past ends the race at once", async () => {
  const deadline = new Deadline();
  deadline.set(performance.now() + 20);
  // Moved later before the timer is due: the timer wakes, finds the new time and sleeps again.
  deadline.set(performance.now() + 200);
  // "done" comes at 60 ms: a race still under way past the first time.
  assert.equal(await deadline.race(after(60, "done")), "done");
  deadline.set(performance.now() - 1);
  let rejected = false;
  const work = Promise.reject(new Error("closed")).catch(() => rejected = true);
  assert.equal(await deadline.race(work), "timeout");
  await work;
  assert.ok(rejected);
  deadline.clear();
});

Deno.test("a deadline moved earlier re-arms its timer", async () => {
  const deadline = new Deadline();
  deadline.set(performance.now() + 60_000);
  deadline.set(performance.now() + 20);
  assert.equal(await deadline.race(after(2000, "late")), "timeout");
  deadline.clear();
});

Deno.test("work that rejects after a timeout is not an unhandled rejection", async () => {
  const deadline = new Deadline();
  deadline.set(performance.now() + 10);
  let reject!: (e: Error) => void;
  const work = new Promise<number>((_, r) => reject = r);
  assert.equal(await deadline.race(work), "timeout");
  reject(new Error("the connection closed"));
  await after(10, null);
  deadline.clear();
});

Deno.test("a deadline with a callback calls it once when it passes while set, never after set(Infinity)", async () => {
  let expired = 0;
  const deadline = new Deadline(() => expired++);
  deadline.set(performance.now() + 20);
  await after(60, null);
  assert.equal(expired, 1, "called once when it passed");
  // Set and then cleared before it passes (a write that finished in time).
  deadline.set(performance.now() + 20);
  deadline.set(Infinity);
  await after(60, null);
  assert.equal(expired, 1, "not called for a deadline cleared in time");
  // Already past when set: called at once.
  deadline.set(performance.now() - 1);
  assert.equal(expired, 2);
  deadline.clear();
});
