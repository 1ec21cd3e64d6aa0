// The one timer of many bodies' deadlines (server/http/deadline_queue.ts):
// order, removal, one timer for quick bodies, an emptied queue, a throwing
// callback, real timers.
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

Deno.test("quick bodies share one timer: one deadline after another added and removed starts it once", () => {
  const started = globalThis.setTimeout;
  let timers = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    timers++;
    return started(...args);
  }) as typeof setTimeout;
  try {
    const deadlines = new DeadlineQueue(60_000);
    // As bodies that arrive with their headers: each leaves the queue before the next comes.
    for (let i = 0; i < 100; i++) deadlines.remove(deadlines.add(() => {}));
    assert.equal(deadlines.size, 0);
    assert.equal(timers, 1);
  } finally {
    globalThis.setTimeout = started;
  }
});

Deno.test("an emptied queue's timer holds no process; a waiting deadline does", async () => {
  const url = new URL("./deadline_queue.ts", import.meta.url).href;
  const script = `import { DeadlineQueue } from "${url}";
    const emptied = new DeadlineQueue(600_000);
    emptied.remove(emptied.add(() => {}));
    // Nothing else keeps this process: the waiting deadline alone must, until it falls due.
    const waiting = new DeadlineQueue(50);
    waiting.remove(waiting.add(() => {}));
    waiting.add(() => console.log("added and removed; the waiting one fell due"));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  });
  const { code, stdout } = await child.output();
  // Held by its timer, it would have run for the deadline's 10 minutes, and been killed.
  assert.equal(code, 0);
  assert.equal(
    new TextDecoder().decode(stdout).trim(),
    "added and removed; the waiting one fell due",
  );
});

Deno.test("a throwing callback stops no other", async () => {
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

Deno.test("a deadline added after the queue emptied falls due at its own time, not its predecessor's", async () => {
  const deadlines = new DeadlineQueue(200);
  const due: string[] = [];
  deadlines.remove(deadlines.add(() => due.push("removed")));
  await sleep(100);
  const later = deadlines.add(() => due.push("later"));
  await sleep(150); // the timer woke at the removed one's time and found the later one not yet due
  assert.deepEqual(due, []);
  await sleep(150);
  assert.deepEqual(due, ["later"]);
  assert.ok(later.expired);
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
