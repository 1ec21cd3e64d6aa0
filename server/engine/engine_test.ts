import assert from "node:assert/strict";
import { DEFAULT_MODEL, loadModelFile } from "../models/model.ts";
import { createChannel, nextRun, readError, writeError } from "./channel.ts";
import { EngineError, InferenceEngine } from "./engine.ts";
import { until } from "../testing/until.ts";

const SCRIPTED = new URL("../testdata/scripted_worker.ts", import.meta.url);
const MODEL = new Uint8Array(8);

/** A digit whose first pixel cues the scripted worker. */
function cue(value: number): Float32Array {
  const digit = new Float32Array(784);
  digit[0] = value;
  return digit;
}

Deno.test("run numbers wrap within Int32 and never reach 0, so no run reads as a stop", () => {
  assert.equal(nextRun(1), 2);
  assert.equal(nextRun(2 ** 31 - 1), -(2 ** 31));
  assert.equal(nextRun(-1), 1);
  let run = 2 ** 31 - 3;
  const seen = new Set<number>();
  for (let i = 0; i < 6; i++) seen.add(run = nextRun(run));
  assert.equal(seen.size, 6);
  assert.ok(!seen.has(0));
});

Deno.test("a worker that dies is replaced by a warmed one, and the next run is served", async () => {
  const reasons: string[] = [];
  const engine = await InferenceEngine.start(MODEL, {
    workerUrl: SCRIPTED,
    onRestart: (reason) => reasons.push(reason),
  });
  try {
    assert.equal(engine.warmups, 2);
    await assert.rejects(
      engine.run(cue(0.75), 1),
      (e: Error) => e instanceof EngineError && /scripted death/.test(e.message),
    );
    assert.equal(engine.restarts, 1);
    assert.match(reasons[0], /scripted death/);
    const { scores } = await engine.run(cue(0), 1);
    assert.equal(scores[7], 1);
    assert.equal(engine.state, "ready");
    assert.equal(engine.warmups, 4, "the replacement was warmed like the first worker");
  } finally {
    engine.close();
  }
});

Deno.test("a worker that makes no progress is replaced; state says so meanwhile", async () => {
  const engine = await InferenceEngine.start(MODEL, { workerUrl: SCRIPTED, runTimeoutMs: 300 });
  try {
    await assert.rejects(engine.run(cue(0.5), 1), /made no progress for 300 ms/);
    assert.equal(engine.restarts, 1);
    await until(() => engine.state === "ready", "the engine ready again");
    const { scores } = await engine.run(cue(0), 3);
    assert.equal(scores.length, 30);
  } finally {
    engine.close();
  }
});

Deno.test("a worker that never loads is given up after the load deadline", async () => {
  await assert.rejects(
    InferenceEngine.start(new Uint8Array([1]), { workerUrl: SCRIPTED, loadTimeoutMs: 300 }),
    /did not load within 300 ms/,
  );
});

Deno.test("one run at a time: the queue decides, the engine refuses a second", async () => {
  const engine = await InferenceEngine.start(MODEL, { workerUrl: SCRIPTED });
  try {
    const first = engine.run(cue(0), 1);
    await assert.rejects(engine.run(cue(0), 1), /already running/);
    await first;
  } finally {
    engine.close();
  }
});

Deno.test("runs after close fail with EngineError", async () => {
  const engine = await InferenceEngine.start(MODEL, { workerUrl: SCRIPTED });
  engine.close();
  await assert.rejects(engine.run(cue(0), 1), EngineError);
  assert.equal(engine.state, "stopped");
});

Deno.test("the real engine warms at start and answers a batch larger than maxBatch in pieces", async () => {
  const model = await loadModelFile(DEFAULT_MODEL, { verifyChecksum: true });
  const engine = await InferenceEngine.start(model.bytes, { maxBatch: 4 });
  try {
    assert.equal(engine.warmups, 2);
    const { scores } = await engine.run(new Float32Array(784 * 10), 10);
    assert.equal(scores.length, 100);
    for (let i = 0; i < 10; i++) {
      const sum = scores.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-3);
    }
  } finally {
    engine.close();
  }
});

Deno.test("100,000 runs do not grow the heap (each run leaves nothing behind)", async () => {
  const script = `
    import { InferenceEngine } from ${JSON.stringify(new URL("./engine.ts", import.meta.url).href)};
    const engine = await InferenceEngine.start(new Uint8Array(8), {
      workerUrl: ${JSON.stringify(SCRIPTED.href)},
    });
    const input = new Float32Array(784);
    const heap = () => { globalThis.gc(); globalThis.gc(); return Deno.memoryUsage().heapUsed; };
    for (let i = 0; i < 5000; i++) await engine.run(input, 1);
    const before = heap();
    for (let i = 0; i < 100000; i++) await engine.run(input, 1);
    console.log(heap() - before);
    engine.close();
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  const growth = Number(new TextDecoder().decode(out.stdout).trim());
  // The leak this guards against kept about 310 bytes per run: 31 MB here.
  assert.ok(growth < 2_000_000, `heap grew ${growth} bytes over 100,000 runs`);
});

Deno.test("a failed run's message crosses the channel whole, and a long one is cut", () => {
  const channel = createChannel(1);
  writeError(channel, "the model's input is [N,3] — not 784 values");
  assert.equal(readError(channel), "the model's input is [N,3] — not 784 values");
  writeError(channel, "x".repeat(5000));
  assert.equal(readError(channel).length, channel.error.length);
});
