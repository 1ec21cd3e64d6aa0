/**
 * What every engine worker does, whichever onnxruntime it wraps: load the
 * model when asked by message, check that it takes 784 values and gives 10
 * per sample, then serve runs through the shared channel (`channel.ts`), one
 * at a time, until told to stop. A worker supplies only how to open a session
 * (`OpenSession`): `worker.ts` for onnxruntime-web (WASM), `native/worker.ts`
 * for onnxruntime-node.
 *
 * @example
 * ```ts
 * // In a worker module:
 * import * as ort from "onnxruntime-web";
 * import { serveEngine } from "./serve.ts";
 *
 * serveEngine(async (model, threads) => ({
 *   session: await ort.InferenceSession.create(model),
 *   tensor: (data, dims) => new ort.Tensor("float32", data, dims),
 *   runtime: `onnxruntime-web (wasm, ${threads} threads)`,
 * }));
 * ```
 * @module
 */
/// <reference lib="deno.worker" />
import type { InferenceSession, Tensor } from "onnxruntime-web";
import {
  COUNT,
  DONE,
  type EngineChannel,
  type EngineLoad,
  type EngineReply,
  FAILED,
  floatsFromBytes,
  HEARTBEAT,
  INPUT_BYTES,
  type ModelShape,
  openChannel,
  REQUEST,
  STOP,
  writeError,
} from "./channel.ts";

/** An open session and what the serve loop needs to feed it. */
export interface OpenedSession {
  /** onnxruntime-web's and onnxruntime-node's sessions share this interface (onnxruntime-common). */
  session: InferenceSession;
  /** Makes the input tensor of a run from a view of the channel's shared memory. */
  tensor(data: Float32Array, dims: number[]): Tensor;
  /** The runtime and its version, e.g. "onnxruntime-web 1.30.0 (wasm, 1 thread)". */
  runtime: string;
}

/**
 * Opens a session on `model` (ONNX bytes) with `threads` threads: the
 * runtime-specific part. `runtimeModule` is the runtime's WebAssembly when
 * the engine compiled it for every worker.
 */
export type OpenSession = (
  model: Uint8Array,
  threads: number,
  runtimeModule?: WebAssembly.Module,
) => Promise<OpenedSession>;

/**
 * The most digits one `session.run` is given; a hand-off of more (up to
 * `--max-batch`) runs in pieces of this size. A runtime's working memory
 * grows to fit its largest run and keeps it: onnxruntime-web's WebAssembly
 * memory never shrinks, and onnxruntime-node's arena keeps its peak. At 64
 * rather than 128 each instance holds about 7 MB (WASM) and 10 MB (native)
 * less, and a digit costs the same (docs/performance.md, "Memory per engine
 * instance").
 */
export const RUN_BATCH = 64;

/** The per-sample size of a shape, leaving out its first (batch) dimension. */
function sampleSize(dims: readonly (number | string)[]): number | null {
  let size = 1;
  for (const d of dims.slice(1)) {
    if (typeof d !== "number") return null;
    size *= d;
  }
  return size;
}

/** Checks the session's one input and one output and describes them for the engine. */
export function modelShape(session: InferenceSession, runtime: string): ModelShape {
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
  return {
    input: session.inputNames[0],
    output: session.outputNames[0],
    inputDims: inputDims.map((d) => (typeof d === "number" ? d : -1)),
    outputDims: outputDims.map((d) => (typeof d === "number" ? d : -1)),
    // A model exported with a fixed batch of 1 is run one sample at a time.
    maxBatch: typeof batchDim === "number" ? batchDim : Infinity,
    runtime,
  };
}

/** Runs the `n` digits in the channel's input into its output; returns the time in ms. */
async function run(
  opened: OpenedSession,
  shape: ModelShape,
  channel: EngineChannel,
  n: number,
): Promise<number> {
  const dims = shape.inputDims.slice(1);
  const step = Math.min(n, shape.maxBatch, RUN_BATCH);
  const start = performance.now();
  if (Atomics.load(channel.header, INPUT_BYTES)) floatsFromBytes(channel, n);
  for (let done = 0; done < n; done += step) {
    const count = Math.min(step, n - done);
    const data = channel.input.subarray(
      done * 784,
      (done + count) * 784,
    ) as unknown as Float32Array;
    Atomics.add(channel.header, HEARTBEAT, 1);
    const result = await opened.session.run({
      [shape.input]: opened.tensor(data, [count, ...dims]),
    });
    channel.output.set(result[shape.output].data as Float32Array, done * 10);
    result[shape.output].dispose();
  }
  return performance.now() - start;
}

/** Serves runs until the `STOP` slot is set. */
async function serve(opened: OpenedSession, shape: ModelShape, channel: EngineChannel) {
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
      channel.time[0] = await run(opened, shape, channel, Atomics.load(header, COUNT));
      Atomics.store(header, FAILED, 0);
    } catch (e) {
      writeError(channel, (e as Error).message);
      Atomics.store(header, FAILED, 1);
    }
    Atomics.add(header, HEARTBEAT, 1);
    Atomics.store(header, DONE, request);
    Atomics.notify(header, DONE);
  }
  await opened.session.release();
  self.close();
}

/** Makes this worker an engine worker: answers the engine's `EngineLoad`, then serves runs. */
export function serveEngine(open: OpenSession): void {
  self.onmessage = async (event: MessageEvent<EngineLoad>) => {
    const { model, threads, buffer, maxBatch, runtimeModule } = event.data;
    let reply: EngineReply;
    let loaded: { opened: OpenedSession; shape: ModelShape } | undefined;
    try {
      const opened = await open(model, threads, runtimeModule);
      loaded = { opened, shape: modelShape(opened.session, opened.runtime) };
      reply = { type: "loaded", shape: loaded.shape };
    } catch (e) {
      reply = { type: "error", message: (e as Error).message };
    }
    self.postMessage(reply);
    if (loaded) serve(loaded.opened, loaded.shape, openChannel(buffer, maxBatch));
  };
}
