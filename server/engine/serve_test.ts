import assert from "node:assert/strict";
import { InferenceEngine } from "./engine.ts";
import { RUN_BATCH } from "./serve.ts";

/**
 * A stand-in engine worker on the real serve loop whose session answers, for
 * each digit, the size of the run it came in (score 0) and the digit's first
 * pixel (score 1).
 */
const ECHO_WORKER = URL.createObjectURL(
  new Blob([
    `import { serveEngine } from ${JSON.stringify(new URL("./serve.ts", import.meta.url).href)};
    serveEngine(() => Promise.resolve({
      session: {
        inputNames: ["input"],
        outputNames: ["scores"],
        inputMetadata: [{ isTensor: true, shape: ["batch", 784] }],
        outputMetadata: [{ isTensor: true, shape: ["batch", 10] }],
        run(feeds) {
          const { data, dims } = feeds.input;
          const out = new Float32Array(dims[0] * 10);
          for (let i = 0; i < dims[0]; i++) {
            out[i * 10] = dims[0];
            out[i * 10 + 1] = data[i * 784];
          }
          return Promise.resolve({ scores: { data: out, dispose() {} } });
        },
        release: () => Promise.resolve(),
      },
      tensor: (data, dims) => ({ data, dims }),
      runtime: "echo stand-in",
    }));`,
  ], { type: "application/javascript" }),
);

Deno.test("a hand-off over RUN_BATCH digits runs in pieces of RUN_BATCH, each digit's answer in its place", async () => {
  const n = RUN_BATCH * 2 + 5;
  const engine = await InferenceEngine.start(new Uint8Array(8), {
    workerUrl: ECHO_WORKER,
    maxBatch: n,
  });
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
