import assert from "node:assert/strict";
import { DEFAULT_MODEL, loadModelFile } from "../models/model.ts";
import { InferenceEngine } from "./engine.ts";
import { engineRuntimeModule, engineWorkerUrl } from "./kinds.ts";
import { compiledOrtWasm } from "./ort_wasm.ts";
import { RUN_BATCH } from "./serve.ts";

/** A digit-like picture: a vertical bar, which the bundled model reads as a 1. */
function bar(): Float32Array {
  const digit = new Float32Array(784);
  for (let row = 4; row < 24; row++) digit[row * 28 + 14] = digit[row * 28 + 13] = 1;
  return digit;
}

Deno.test("onnxruntime-web's WebAssembly is compiled once per process and shared by the WASM kind", async () => {
  const first = await compiledOrtWasm();
  assert.ok(first instanceof WebAssembly.Module);
  assert.equal(await compiledOrtWasm(), first);
  assert.equal(await engineRuntimeModule("wasm"), first);
  assert.equal(await engineRuntimeModule("native"), undefined);
});

Deno.test("an engine on the shared module answers as one that compiled its own, at 1 and 2 threads", async () => {
  const { bytes } = await loadModelFile(DEFAULT_MODEL, { verifyChecksum: true });
  const shared = await InferenceEngine.start(bytes, { threads: 1, maxBatch: 8 });
  // Naming the worker makes the engine post no module: the worker compiles its own.
  const own = await InferenceEngine.start(bytes, {
    threads: 1,
    maxBatch: 8,
    workerUrl: engineWorkerUrl("wasm"),
  });
  const threaded = await InferenceEngine.start(bytes, { threads: 2, maxBatch: 8 });
  try {
    const expected = (await own.run(bar(), 1)).scores;
    for (const engine of [shared, threaded]) {
      const { scores } = await engine.run(bar(), 1);
      for (let i = 0; i < 10; i++) assert.ok(Math.abs(scores[i] - expected[i]) < 1e-4);
    }
  } finally {
    for (const engine of [shared, own, threaded]) engine.close();
  }
});

Deno.test("a full batch, run by onnxruntime in pieces, answers each digit as a run of one does", async () => {
  const { bytes } = await loadModelFile(DEFAULT_MODEL, { verifyChecksum: true });
  const n = RUN_BATCH * 2 + 3;
  const engine = await InferenceEngine.start(bytes, { threads: 1, maxBatch: n });
  try {
    const digits = new Float32Array(n * 784);
    // Each digit differs: a bar that moves right and thickens.
    for (let i = 0; i < n; i++) {
      for (let row = 4; row < 24; row++) {
        for (let w = 0; w <= i % 4; w++) digits[i * 784 + row * 28 + 4 + (i % 20) + w] = 1;
      }
    }
    const { scores } = await engine.run(digits, n);
    for (const i of [0, RUN_BATCH - 1, RUN_BATCH, RUN_BATCH * 2, n - 1]) {
      const alone = (await engine.run(digits.subarray(i * 784, (i + 1) * 784), 1)).scores;
      for (let k = 0; k < 10; k++) assert.ok(Math.abs(scores[i * 10 + k] - alone[k]) < 1e-4);
    }
  } finally {
    engine.close();
  }
});
