import assert from "node:assert/strict";
import { standInWorker } from "../testing/engine_stand_in.ts";
import { InferenceEngine } from "./engine.ts";
import { RUN_BATCH } from "./serve.ts";

Deno.test("a hand-off over RUN_BATCH digits runs in pieces of RUN_BATCH, each digit's answer in its place", async () => {
  const n = RUN_BATCH * 2 + 5;
  // Each digit answers the size of the run it came in and its first pixel.
  const workerUrl = standInWorker({
    run: "out[i * 10] = dims[0]; out[i * 10 + 1] = data[i * 784];",
  });
  const engine = await InferenceEngine.start(new Uint8Array(8), { workerUrl, maxBatch: n });
  try {
    const digits = new Float32Array(n * 784);
    for (let i = 0; i < n; i++) digits[i * 784] = i;
    const { scores } = await engine.run(digits, n);
    for (let i = 0; i < n; i++) {
      assert.equal(scores[i * 10], i < RUN_BATCH * 2 ? RUN_BATCH : 5, `digit ${i}'s run size`);
      assert.equal(scores[i * 10 + 1], i, `digit ${i}'s answer`);
    }
  } finally {
    engine.close();
  }
});

Deno.test("digits handed off as bytes reach the session as b / 255; a float hand-off after them as floats", async () => {
  // Each digit answers its first and last pixel as the session sees them.
  const workerUrl = standInWorker({
    run: "out[i * 10] = data[i * 784]; out[i * 10 + 1] = data[i * 784 + 783];",
  });
  const engine = await InferenceEngine.start(new Uint8Array(8), { workerUrl, maxBatch: 4 });
  try {
    const bytes = new Uint8Array(3 * 784);
    for (let i = 0; i < 3; i++) {
      bytes[i * 784] = i * 100;
      bytes[i * 784 + 783] = 255;
    }
    const fromBytes = (await engine.run(bytes, 3)).scores;
    for (let i = 0; i < 3; i++) {
      assert.equal(fromBytes[i * 10], Math.fround((i * 100) / 255), `digit ${i}'s first pixel`);
      assert.equal(fromBytes[i * 10 + 1], 1, `digit ${i}'s last pixel`);
    }
    const floats = new Float32Array(784).fill(0.25);
    const fromFloats = (await engine.run(floats, 1)).scores;
    assert.deepEqual([fromFloats[0], fromFloats[1]], [0.25, 0.25]);
  } finally {
    engine.close();
  }
});
