import assert from "node:assert/strict";
import { WireError } from "../../shared/errors.ts";
import { InferenceEngine } from "./engine.ts";
import { InferenceQueue } from "./queue.ts";
import { type Inference } from "./job.ts";
import { QueueBudget, type RunEvent } from "./queue_options.ts";
import { DEFAULT_MODEL, loadModelFile } from "../models/model.ts";
import { standInWorker } from "../testing/engine_stand_in.ts";

const SCRIPTED = new URL("../testdata/scripted_worker.ts", import.meta.url);

function engines(count: number): Promise<InferenceEngine[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () => InferenceEngine.start(new Uint8Array(8), { workerUrl: SCRIPTED }),
    ),
  );
}

function submit(queue: InferenceQueue, owner?: unknown): Promise<Inference> {
  const result = queue.submit(new Uint8Array(784), null, owner);
  if (result instanceof WireError) throw new Error(result.toString());
  return result;
}

Deno.test("the queue keeps every instance busy, one batch each at a time", async () => {
  const set = { engines: await engines(3), version: 1 };
  const runs: RunEvent[] = [];
  const queue = new InferenceQueue(set, {
    maxBatch: 4,
    maxQueued: 100,
    onRun: (e) => runs.push(e),
  });
  try {
    const replies = await Promise.all(Array.from({ length: 40 }, () => submit(queue)));
    assert.equal(replies.length, 40);
    assert.ok(replies.every((r) => r.predicted === 7 && r.modelVersion === 1));
    assert.equal(runs.reduce((n, r) => n + r.batchSize, 0), 40);
    assert.ok(runs.every((r) => r.batchSize <= 4));
    assert.equal(queue.served, 40);
  } finally {
    await queue.close();
  }
});

Deno.test("a swap serves every later batch from the new set, loses nothing, and hands back the old", async () => {
  const old = { engines: await engines(2), version: 1 };
  const next = { engines: await engines(2), version: 2 };
  const queue = new InferenceQueue(old, { maxBatch: 8, maxQueued: 10_000 });
  try {
    const before = Array.from({ length: 200 }, () => submit(queue));
    const swapped = queue.swap(next);
    const after = Array.from({ length: 200 }, () => submit(queue));
    assert.equal(await swapped, old);
    for (const engine of old.engines) engine.close();
    const early = await Promise.all(before);
    const late = await Promise.all(after);
    assert.ok(late.every((r) => r.modelVersion === 2), "every digit queued after the swap");
    assert.ok(early.some((r) => r.modelVersion === 1));
    assert.equal(early.length + late.length, 400);
  } finally {
    await queue.close();
  }
});

Deno.test("one owner's flood does not delay another owner's digit: lanes are served in turn", async () => {
  const queue = new InferenceQueue({ engines: await engines(1), version: 1 }, {
    maxBatch: 8,
    maxQueued: 10_000,
  });
  try {
    const order: string[] = [];
    const flood = Array.from(
      { length: 400 },
      () => submit(queue, "flood").then(() => order.push("flood")),
    );
    const board = submit(queue, "board").then(() => order.push("board"));
    await Promise.all([...flood, board]);
    // FIFO would answer the board's digit last; in turn, it rides in the second batch.
    assert.ok(order.indexOf("board") < 16, `the board was answered at ${order.indexOf("board")}`);
  } finally {
    await queue.close();
  }
});

Deno.test("a full queue still takes an owner's first digit, and refuses its second", async () => {
  const queue = new InferenceQueue({ engines: await engines(1), version: 1 }, {
    maxBatch: 1,
    maxQueued: 4,
  });
  try {
    const flood: Promise<Inference>[] = [];
    let refused: Promise<Inference> | WireError | null = null;
    while (!(refused instanceof WireError) && flood.length < 20) {
      refused = queue.submit(new Uint8Array(784), null, "flood");
      if (!(refused instanceof WireError)) flood.push(refused);
    }
    assert.ok(refused instanceof WireError, "the flood fills the queue");
    const board = queue.submit(new Uint8Array(784), null, "board");
    assert.ok(!(board instanceof WireError), "a quiet owner's digit gets in");
    const second = queue.submit(new Uint8Array(784), null, "board");
    assert.ok(second instanceof WireError && second.code === "SERVER_BUSY");
    await Promise.all([...flood, board]);
  } finally {
    await queue.close();
  }
});

Deno.test("a full queue answers SERVER_BUSY at once", async () => {
  const queue = new InferenceQueue({ engines: await engines(1), version: 1 }, {
    maxBatch: 1,
    maxQueued: 2,
  });
  try {
    const accepted: Promise<Inference>[] = [];
    let busy: WireError | null = null;
    for (let i = 0; i < 10 && !busy; i++) {
      const result = queue.submit(new Uint8Array(784), null);
      if (result instanceof WireError) busy = result;
      else accepted.push(result);
    }
    assert.equal(busy?.code, "SERVER_BUSY");
    await Promise.all(accepted);
  } finally {
    await queue.close();
  }
});

Deno.test("with batchMs, runs shrink to about that long while a client queues ahead, not otherwise", async () => {
  const model = await loadModelFile(DEFAULT_MODEL, { verifyChecksum: true });
  for (const batchMs of [1e-6, undefined]) {
    const runs: RunEvent[] = [];
    const set = { engines: [await InferenceEngine.start(model.bytes)], version: 1 };
    const queue = new InferenceQueue(set, {
      maxBatch: 64,
      maxQueued: 1000,
      batchMs,
      onRun: (e) => runs.push(e),
    });
    try {
      // The first run measures the time per digit.
      await submit(queue);
      assert.equal(queue.batchLimit(), 64);
      // 40 clients with one digit each: full runs whatever batchMs.
      await Promise.all(Array.from({ length: 40 }, (_, i) => submit(queue, `board ${i}`)));
      const boards = runs.splice(1).map((r) => r.batchSize);
      assert.ok(Math.max(...boards) > 1, String(boards));
      // One client queueing 40 ahead: with a run time far below one digit's, one digit per run.
      await Promise.all(Array.from({ length: 40 }, () => submit(queue, "flood")));
      const flood = runs.splice(1).map((r) => r.batchSize);
      assert.equal(flood.reduce((a, b) => a + b, 0), 40);
      if (batchMs) assert.ok(flood.every((n) => n === 1), String(flood));
      else assert.ok(Math.max(...flood) > 1, String(flood));
    } finally {
      await queue.close();
    }
  }
});

Deno.test("while a client queues ahead, at most floodInstances instances run at once", async () => {
  for (const floodInstances of [1, undefined]) {
    const set = { engines: await engines(2), version: 1 };
    const queue = new InferenceQueue(set, {
      maxBatch: 4,
      maxQueued: 1000,
      batchMs: 1000,
      floodInstances,
    });
    // How many runs are under way as each one starts.
    let running = 0;
    const atStart: number[] = [];
    for (const engine of set.engines) {
      const run = engine.run.bind(engine);
      engine.run = async (input, n) => {
        atStart.push(++running);
        try {
          return await run(input, n);
        } finally {
          running--;
        }
      };
    }
    try {
      await submit(queue); // the time per digit, which batchMs needs
      // Two boards take both instances; a flood then queues ahead of its answers.
      const boards = [submit(queue, "b1"), submit(queue, "b2")];
      const flood = Array.from({ length: 40 }, () => submit(queue, "flood"));
      await Promise.all([...boards, ...flood]);
      const duringFlood = atStart.slice(3);
      if (floodInstances) assert.ok(duringFlood.every((n) => n === 1), String(duringFlood));
      else assert.ok(duringFlood.some((n) => n === 2), String(duringFlood));
    } finally {
      await queue.close();
    }
  }
});

Deno.test("submitWith tells its callback once, later, with the context; a refused digit is returned and never told", async () => {
  const set = { engines: await engines(1), version: 1 };
  const queue = new InferenceQueue(set, { maxBatch: 4, maxQueued: 1 });
  try {
    const told: [string, Inference | WireError][] = [];
    const done = (context: string, result: Inference | WireError) => told.push([context, result]);
    assert.equal(queue.submitWith(new Uint8Array(784), null, "a", false, done, "first"), null);
    // The first runs at once; the second waits, and takes the budget of one.
    assert.equal(queue.submitWith(new Uint8Array(784), null, "a", false, done, "second"), null);
    assert.equal(told.length, 0, "never told synchronously");
    // Owner "a" already has a digit waiting: no exception past the full budget.
    const refused = queue.submitWith(new Uint8Array(784), null, "a", false, done, "third");
    assert.ok(refused instanceof WireError);
    await queue.drained();
    assert.deepEqual(told.map(([context]) => context), ["first", "second"]);
    assert.ok(told.every(([, r]) => (r as Inference).predicted === 7));
  } finally {
    await queue.close();
  }
});

Deno.test("the idle lane runs only when no client's digit waits, outside the budget, and drops when full", async () => {
  const set = { engines: await engines(1), version: 1 };
  const queue = new InferenceQueue(set, { maxBatch: 4, maxQueued: 100, maxIdle: 2 });
  const order: string[] = [];
  const idle = (name: string) =>
    queue.submitIdle(new Uint8Array(784), null, (_: null, result) => {
      order.push(result instanceof WireError ? `${name} failed` : name);
    }, null);
  try {
    // A runs; while it does, an idle digit and then B arrive: B goes first.
    const a = submit(queue).then(() => order.push("A"));
    assert.ok(idle("I1"));
    const b = submit(queue).then(() => order.push("B"));
    await Promise.all([a, b]);
    while (order.length < 3) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(order, ["A", "B", "I1"]);

    // A digit waiting in another queue of the budget holds the lane back, however idle the engine.
    const budget = new QueueBudget(100);
    const shared = new InferenceQueue(set, { maxBatch: 4, maxQueued: 100, maxIdle: 2, budget });
    budget.queued = 1;
    assert.ok(shared.submitIdle(new Uint8Array(784), null, () => order.push("I2"), null));
    assert.equal(shared.idleQueued, 1, "not dispatched while a client's digit waits");
    assert.ok(shared.submitIdle(new Uint8Array(784), null, () => order.push("I3"), null));
    assert.equal(
      shared.submitIdle(new Uint8Array(784), null, () => order.push("I4"), null),
      false,
      "a full lane drops",
    );
    assert.equal(budget.queued, 1, "idle digits are not counted in the budget");
    budget.queued = 0;
    shared.poke();
    assert.equal(shared.idleQueued, 0);
    while (order.length < 5) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(order.slice(3).sort(), ["I2", "I3"]);
  } finally {
    await queue.close();
  }
});

Deno.test("a batch of byte digits and one mixing bytes and floats each answer every digit's own pixels", async () => {
  // Each digit answers its run's size and its first pixel as the session sees it.
  const workerUrl = standInWorker({
    run: "out[i * 10] = dims[0]; out[i * 10 + 1] = data[i * 784];",
  });
  const engine = await InferenceEngine.start(new Uint8Array(8), { workerUrl, maxBatch: 8 });
  const queue = new InferenceQueue({ engines: [engine], version: 1 }, {
    maxBatch: 8,
    maxQueued: 100,
  });
  const byteDigit = (first: number) => Uint8Array.from({ length: 784 }, (_, i) => i ? 0 : first);
  const floatDigit = (first: number) => Float32Array.from({ length: 784 }, (_, i) => i ? 0 : first);
  const answer = (p: Promise<Inference> | WireError) =>
    (p as Promise<Inference>).then(({ scores }) => [scores[0], scores[1]]);
  try {
    // The first digit runs alone; the next three wait and run as one batch.
    const alone = answer(queue.submit(byteDigit(51), null, "a"));
    const bytesOnly = [
      answer(queue.submit(byteDigit(102), null, "b")),
      answer(queue.submit(byteDigit(255), null, "c")),
    ];
    assert.deepEqual(await alone, [1, Math.fround(51 / 255)]);
    assert.deepEqual(await Promise.all(bytesOnly), [[2, Math.fround(102 / 255)], [2, 1]]);
    const mixed = [
      answer(queue.submit(byteDigit(51), null, "a")),
      answer(queue.submit(null, floatDigit(0.75), "b")),
      answer(queue.submit(byteDigit(204), null, "c")),
    ];
    assert.deepEqual(await Promise.all(mixed), [
      [1, Math.fround(51 / 255)],
      [2, 0.75],
      [2, Math.fround(204 / 255)],
    ]);
  } finally {
    await queue.close();
  }
});

Deno.test("after resetFigures, a run of digits submitted before it is not counted, and later ones are", async () => {
  // Each run takes 50 ms, so the first digit is still running when the figures reset.
  const workerUrl = standInWorker({
    prelude: "const nap = new Int32Array(new SharedArrayBuffer(4));",
    run: "if (i === 0) Atomics.wait(nap, 0, 0, 50);",
  });
  const engine = await InferenceEngine.start(new Uint8Array(8), { workerUrl, maxBatch: 8 });
  const queue = new InferenceQueue({ engines: [engine], version: 1 }, {
    maxBatch: 8,
    maxQueued: 100,
  });
  try {
    const before = submit(queue, "a");
    await new Promise((r) => setTimeout(r, 10));
    queue.resetFigures();
    const after = submit(queue, "b");
    await Promise.all([before, after]);
    assert.equal(queue.served, 1, "only the digit submitted after the reset");
    assert.equal(queue.runs, 1);
  } finally {
    await queue.close();
  }
});
