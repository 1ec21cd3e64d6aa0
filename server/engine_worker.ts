/**
 * The engine's worker: owns the onnxruntime-web session, so a running
 * inference never holds the event loop that reads sockets. It answers the
 * messages of `engine.ts`, one run at a time.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import * as ort from "onnxruntime-web";
import type { EngineReply, EngineRequest, ModelShape } from "./engine.ts";

let session: ort.InferenceSession | null = null;
let shape: ModelShape | null = null;

/** The per-sample size of a shape, leaving out its first (batch) dimension. */
function sampleSize(dims: readonly (number | string)[]): number | null {
  let size = 1;
  for (const d of dims.slice(1)) {
    if (typeof d !== "number") return null;
    size *= d;
  }
  return size;
}

async function load(model: Uint8Array, threads: number): Promise<ModelShape> {
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = "error";
  session = await ort.InferenceSession.create(model, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  const input = session.inputMetadata[0];
  const output = session.outputMetadata[0];
  const inputDims = input?.isTensor ? input.shape : [];
  const outputDims = output?.isTensor ? output.shape : [];
  const describe = (dims: readonly (number | string)[]) => `[${dims.join(",")}]`;
  if (
    session.inputNames.length !== 1 || session.outputNames.length !== 1 || inputDims.length < 2 ||
    sampleSize(inputDims) !== 784 || sampleSize(outputDims) !== 10
  ) {
    throw new Error(
      `the model's input is ${describe(inputDims)} and its output ${describe(outputDims)}; ` +
        `the server needs one input of 784 values per sample (e.g. [N,1,28,28]) and one output of 10 (e.g. [N,10])`,
    );
  }
  const batchDim = inputDims[0];
  shape = {
    input: session.inputNames[0],
    output: session.outputNames[0],
    inputDims: inputDims.map((d) => (typeof d === "number" ? d : -1)),
    outputDims: outputDims.map((d) => (typeof d === "number" ? d : -1)),
    // A model exported with a fixed batch of 1 is run one sample at a time.
    maxBatch: typeof batchDim === "number" ? batchDim : Infinity,
    runtime: `onnxruntime-web ${ort.env.versions.web} (wasm, ${threads} thread${
      threads === 1 ? "" : "s"
    })`,
  };
  return shape;
}

async function run(
  input: Float32Array<ArrayBuffer>,
  n: number,
): Promise<{ scores: Float32Array<ArrayBuffer>; ms: number }> {
  if (!session || !shape) throw new Error("no model loaded");
  const scores = new Float32Array(n * 10);
  const dims = shape.inputDims.slice(1);
  const step = Math.min(n, shape.maxBatch);
  const start = performance.now();
  for (let done = 0; done < n; done += step) {
    const count = Math.min(step, n - done);
    const tensor = new ort.Tensor("float32", input.subarray(done * 784, (done + count) * 784), [
      count,
      ...dims,
    ]);
    const result = await session.run({ [shape.input]: tensor });
    scores.set(result[shape.output].data as Float32Array, done * 10);
    tensor.dispose();
    result[shape.output].dispose();
  }
  return { scores, ms: performance.now() - start };
}

self.onmessage = async (event: MessageEvent<EngineRequest>) => {
  const message = event.data;
  let reply: EngineReply;
  try {
    if (message.type === "load") {
      reply = { type: "loaded", id: message.id, shape: await load(message.model, message.threads) };
    } else {
      const { scores, ms } = await run(message.input, message.n);
      reply = { type: "result", id: message.id, scores, ms, input: message.input };
      self.postMessage(reply, [scores.buffer, message.input.buffer]);
      return;
    }
  } catch (e) {
    reply = { type: "error", id: message.id, message: (e as Error).message };
  }
  self.postMessage(reply);
};
