/**
 * The engine's worker: owns the onnxruntime-web session, so a running
 * inference never holds the event loop that reads sockets. It loads the model
 * when asked by message, then serves runs through the shared channel
 * (`channel.ts`), one at a time, until told to stop.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import * as ort from "onnxruntime-web";
import {
  COUNT,
  DONE,
  type EngineChannel,
  type EngineLoad,
  type EngineReply,
  FAILED,
  HEARTBEAT,
  type ModelShape,
  openChannel,
  REQUEST,
  STOP,
  writeError,
} from "./channel.ts";

/** The per-sample size of a shape, leaving out its first (batch) dimension. */
function sampleSize(dims: readonly (number | string)[]): number | null {
  let size = 1;
  for (const d of dims.slice(1)) {
    if (typeof d !== "number") return null;
    size *= d;
  }
  return size;
}

async function load(
  model: Uint8Array,
  threads: number,
): Promise<{ session: ort.InferenceSession; shape: ModelShape }> {
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = "error";
  const session = await ort.InferenceSession.create(model, {
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
        `the server needs one input of 784 values per sample (e.g. [N,1,28,28]) ` +
        `and one output of 10 (e.g. [N,10])`,
    );
  }
  const batchDim = inputDims[0];
  const shape: ModelShape = {
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
  return { session, shape };
}

/** Runs the `n` digits in the channel's input into its output; returns the time in ms. */
async function run(
  session: ort.InferenceSession,
  shape: ModelShape,
  channel: EngineChannel,
  n: number,
): Promise<number> {
  const dims = shape.inputDims.slice(1);
  const step = Math.min(n, shape.maxBatch);
  const start = performance.now();
  for (let done = 0; done < n; done += step) {
    const count = Math.min(step, n - done);
    // onnxruntime-web copies the tensor into WASM memory, so a view of shared memory is fine.
    const data = channel.input.subarray(
      done * 784,
      (done + count) * 784,
    ) as unknown as Float32Array;
    const tensor = new ort.Tensor("float32", data, [count, ...dims]);
    Atomics.add(channel.header, HEARTBEAT, 1);
    const result = await session.run({ [shape.input]: tensor });
    channel.output.set(result[shape.output].data as Float32Array, done * 10);
    result[shape.output].dispose();
  }
  return performance.now() - start;
}

/** Serves runs until the `STOP` slot is set. */
async function serve(session: ort.InferenceSession, shape: ModelShape, channel: EngineChannel) {
  const header = channel.header;
  let seen = 0;
  for (;;) {
    // waitAsync, not wait: with more than one WASM thread, onnxruntime's
    // threads need this worker's event loop to stay free between runs.
    const wait = Atomics.waitAsync(header, REQUEST, seen);
    if (wait.async) await wait.value;
    if (Atomics.load(header, STOP)) break;
    const request = Atomics.load(header, REQUEST);
    if (request === seen) continue;
    seen = request;
    try {
      channel.time[0] = await run(session, shape, channel, Atomics.load(header, COUNT));
      Atomics.store(header, FAILED, 0);
    } catch (e) {
      writeError(channel, (e as Error).message);
      Atomics.store(header, FAILED, 1);
    }
    Atomics.add(header, HEARTBEAT, 1);
    Atomics.store(header, DONE, request);
    Atomics.notify(header, DONE);
  }
  await session.release();
  self.close();
}

self.onmessage = async (event: MessageEvent<EngineLoad>) => {
  const { model, threads, buffer, maxBatch } = event.data;
  let reply: EngineReply;
  let loaded;
  try {
    loaded = await load(model, threads);
    reply = { type: "loaded", shape: loaded.shape };
  } catch (e) {
    reply = { type: "error", message: (e as Error).message };
  }
  self.postMessage(reply);
  if (loaded) serve(loaded.session, loaded.shape, openChannel(buffer, maxBatch));
};
