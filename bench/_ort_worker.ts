/**
 * A Worker that times onnxruntime-web directly: it creates its own session
 * (with the thread count it is given; onnxruntime-web fixes that once per
 * isolate, hence a fresh Worker per thread count) and times `session.run` in
 * a loop, as a Python notebook does. Private to `bench/`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import * as ort from "onnxruntime-web";
import type { DirectJob, DirectMessage } from "./inference.ts";
import type { CellResult } from "./inference_report.ts";

function post(message: DirectMessage): void {
  self.postMessage(message);
}

self.onmessage = async (event: MessageEvent<DirectJob>) => {
  const job = event.data;
  try {
    ort.env.wasm.numThreads = job.threads;
    ort.env.logLevel = "error";
    const started = performance.now();
    const session = await ort.InferenceSession.create(job.model, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
    });
    post({
      type: "loaded",
      loadMs: performance.now() - started,
      runtime: ort.env.versions.web ?? "",
    });
    const input = session.inputNames[0];
    const output = session.outputNames[0];
    const meta = session.inputMetadata[0];
    // The per-sample dims of the model's input, e.g. [1, 28, 28].
    const dims = meta?.isTensor ? meta.shape.slice(1).map(Number) : [784];
    for (const batch of job.batches) {
      const data = job.input.subarray(0, batch * 784);
      const runOnce = async () => {
        const tensor = new ort.Tensor("float32", data, [batch, ...dims]);
        const result = await session.run({ [input]: tensor });
        result[output].dispose();
      };
      for (let i = 0; i < job.warmup; i++) await runOnce();
      const times: number[] = [];
      const deadline = performance.now() + job.durationSeconds * 1000;
      while (times.length < job.runs && (times.length === 0 || performance.now() < deadline)) {
        const t = performance.now();
        await runOnce();
        times.push(performance.now() - t);
      }
      const cell: CellResult = {
        via: "direct",
        threads: job.threads,
        instances: 1,
        batch,
        runs: times.length,
        runMs: times,
        wallMs: times,
      };
      post({ type: "cell", cell });
    }
    await session.release();
    post({ type: "done" });
  } catch (e) {
    post({ type: "error", message: (e as Error).message });
  }
};
