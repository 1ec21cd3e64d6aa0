import assert from "node:assert/strict";
import { startServer } from "../server.ts";
import { InferenceEngine } from "./engine.ts";
import { startWarmed, verifyEngine } from "./verify.ts";
import { standInWorker } from "../testing/engine_stand_in.ts";

const MODEL = await Deno.readFile(new URL("../../models/mnist/1/model.onnx", import.meta.url));

Deno.test("a configuration slower than the run watchdog is refused with a sentence, not failed by the watchdog", async () => {
  // A run may take 1 ms: no real full batch fits, so the start must refuse
  // (before this check, the warm-up itself tripped the watchdog and the
  // start failed with "the engine worker was replaced").
  await assert.rejects(
    () => startServer({ hostname: "127.0.0.1", port: 0, runTimeoutMs: 1 }),
    (e: unknown) => {
      // The default model cannot serve, and the sentence says why.
      assert.ok(e instanceof Error, String(e));
      assert.match(
        e.message,
        /a full batch of 128 digits takes \d+ ms with 1 thread on this \d+-core machine, more than 1 ms .*use fewer threads/,
      );
      assert.doesNotMatch(e.message, /replaced|hung and/);
      return true;
    },
  );
});

Deno.test("verifyEngine passes a real engine within its budget and names the core count when threads exceed it", async () => {
  const engine = await InferenceEngine.start(MODEL, { threads: 1, maxBatch: 32 });
  try {
    const { fullBatchMs } = await verifyEngine(engine, { runTimeoutMs: 60_000, threads: 1 });
    assert.ok(fullBatchMs > 0);
    await assert.rejects(
      () => verifyEngine(engine, { runTimeoutMs: 0.001, threads: 8, cores: 2, rounds: 1 }),
      /with 8 threads on this 2-core machine.*at most 2, one per core/,
    );
  } finally {
    engine.close();
  }
});

/** An engine worker whose every run blocks its thread for 500 ms: to the watchdog, a hung runtime. */
const HANGS = standInWorker({
  prelude: "const nap = new Int32Array(new SharedArrayBuffer(4));",
  run: "if (i === 0) Atomics.wait(nap, 0, 0, 500);",
});

Deno.test("a start whose warm-up hangs is given up and started afresh; the next attempt serves", async () => {
  const retries: string[] = [];
  const starts: number[] = [];
  // Attempt 1's runs hang past its 1 ms watchdog; attempt 2 is the real engine.
  const engine = await startWarmed((attempt) => {
    starts.push(attempt);
    return InferenceEngine.start(MODEL, {
      threads: 1,
      maxBatch: 16,
      runTimeoutMs: attempt === 1 ? 1 : 60_000,
      workerUrl: attempt === 1 ? HANGS : undefined,
    });
  }, { runTimeoutMs: 60_000, threads: 1, onRetry: (_, reason) => retries.push(reason) });
  try {
    assert.deepEqual(starts, [1, 2]);
    assert.equal(retries.length, 1);
    assert.match(retries[0], /took over 1 ms|made no progress for 1 ms/);
    const { scores } = await engine.run(new Float32Array(784), 1);
    assert.equal(scores.length, 10);
  } finally {
    engine.close();
  }
});

Deno.test("a warm-up that hangs on every attempt refuses the start with a sentence", async () => {
  await assert.rejects(
    () =>
      startWarmed(
        () =>
          InferenceEngine.start(MODEL, {
            threads: 1,
            maxBatch: 16,
            runTimeoutMs: 1,
            workerUrl: HANGS,
          }),
        {
          runTimeoutMs: 2_000,
          threads: 1,
          attempts: 2,
        },
      ),
    /^EngineError: the engine's 1 thread did not start in 2 fresh attempts \(its warm-up run never finished: .*\); use fewer threads/,
  );
});
