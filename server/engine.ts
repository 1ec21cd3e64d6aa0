/**
 * The inference engine: an onnxruntime-web (WASM) session in a Worker behind
 * the single-inference lock. `run()` takes a batch of digits and resolves with
 * their scores; calls made while one runs wait their turn, so the session
 * only ever sees one run at a time.
 *
 * Batches travel through shared memory with an `Atomics` handshake
 * (`_engine_channel.ts`), not `postMessage`: it is the cheaper way to wake
 * the worker and be woken by it.
 *
 * @example
 * ```ts
 * import { InferenceEngine } from "./engine.ts";
 * import { loadModelFile } from "./model.ts";
 *
 * const model = await loadModelFile("models/mnist.onnx", { verifyChecksum: true });
 * const engine = await InferenceEngine.start(model.bytes, { threads: 1 });
 * const { scores, ms } = await engine.run(new Float32Array(784), 1);
 * console.log(scores, ms);
 * engine.close();
 * ```
 * @module
 */
import {
  COUNT,
  createChannel,
  DONE,
  type EngineChannel,
  FAILED,
  readError,
  REQUEST,
  STOP,
} from "./_engine_channel.ts";

/** What the worker found out about the model. */
export interface ModelShape {
  input: string;
  output: string;
  /** Input dims, -1 for symbolic ones. */
  inputDims: number[];
  outputDims: number[];
  /** The largest batch one `session.run` takes (Infinity for a symbolic batch). */
  maxBatch: number;
  /** The runtime and its version, e.g. "onnxruntime-web 1.30.0 (wasm, 1 thread)". */
  runtime: string;
}

/** The one message to the worker: load this model, then serve runs through `buffer`. */
export interface EngineLoad {
  model: Uint8Array;
  threads: number;
  buffer: SharedArrayBuffer;
  maxBatch: number;
}

/** The worker's answer to `EngineLoad`. */
export type EngineReply =
  | { type: "loaded"; shape: ModelShape }
  | { type: "error"; message: string };

/** The result of one run: 10 scores per digit and the run's time. */
export interface EngineResult {
  /** n × 10 scores, the caller's to keep. */
  scores: Float32Array;
  /** Time `session.run` took for the whole batch, in ms, measured in the worker. */
  ms: number;
}

/** Thrown when the model cannot be loaded or a run fails. */
export class EngineError extends Error {
  override name = "EngineError";
}

/** Options of `InferenceEngine.start`. */
export interface EngineOptions {
  /** WASM threads for onnxruntime-web (default 1). */
  threads?: number;
  /** The most digits one run takes; `run()` splits larger batches. */
  maxBatch?: number;
}

/** An onnxruntime-web session in a Worker, one run at a time. */
export class InferenceEngine {
  readonly shape: ModelShape;
  readonly maxBatch: number;
  #worker: Worker;
  #channel: EngineChannel;
  #sequence = 0;
  #lock: Promise<unknown> = Promise.resolve();
  #stopped: string | null = null;
  #onStop: (reason: string) => void = () => {};
  #stopping: Promise<never>;

  private constructor(worker: Worker, channel: EngineChannel, shape: ModelShape) {
    this.#worker = worker;
    this.#channel = channel;
    this.shape = shape;
    this.maxBatch = channel.maxBatch;
    this.#stopping = new Promise<never>((_, reject) => {
      this.#onStop = (reason) => reject(new EngineError(reason));
    });
    this.#stopping.catch(() => {});
  }

  /** Starts the worker and loads `model` (ONNX bytes) into it. */
  static async start(model: Uint8Array, options: EngineOptions = {}): Promise<InferenceEngine> {
    const worker = new Worker(new URL("./engine_worker.ts", import.meta.url).href, {
      type: "module",
    });
    const channel = createChannel(options.maxBatch ?? 256);
    let reply: EngineReply;
    try {
      reply = await new Promise<EngineReply>((resolve, reject) => {
        worker.onmessage = (event: MessageEvent<EngineReply>) => resolve(event.data);
        worker.onerror = (event) => {
          event.preventDefault();
          reject(new EngineError(`engine worker failed: ${event.message}`));
        };
        worker.postMessage(
          {
            model,
            threads: options.threads ?? 1,
            buffer: channel.buffer,
            maxBatch: channel.maxBatch,
          } satisfies EngineLoad,
        );
      });
    } catch (e) {
      worker.terminate();
      throw e;
    }
    if (reply.type !== "loaded") {
      worker.terminate();
      throw new EngineError(reply.message);
    }
    const engine = new InferenceEngine(worker, channel, reply.shape);
    worker.onerror = (event) => {
      event.preventDefault();
      engine.#stop(`engine worker failed: ${event.message}`);
    };
    return engine;
  }

  /**
   * Runs `n` digits (`input` holds n × 784 floats, row-major) and resolves
   * with n × 10 scores. Runs never overlap; a batch over `maxBatch` runs in
   * pieces.
   */
  run(input: Float32Array, n: number): Promise<EngineResult> {
    const result = this.#lock.then(() => this.#runLocked(input, n));
    this.#lock = result.catch(() => {});
    return result;
  }

  async #runLocked(input: Float32Array, n: number): Promise<EngineResult> {
    const scores = new Float32Array(n * 10);
    let ms = 0;
    for (let done = 0; done < n; done += this.maxBatch) {
      const count = Math.min(this.maxBatch, n - done);
      ms += await this.#runChunk(input.subarray(done * 784, (done + count) * 784), count);
      scores.set(this.#channel.output.subarray(0, count * 10), done * 10);
    }
    return { scores, ms };
  }

  async #runChunk(input: Float32Array, n: number): Promise<number> {
    if (this.#stopped) throw new EngineError(this.#stopped);
    const { header } = this.#channel;
    this.#channel.input.set(input);
    Atomics.store(header, COUNT, n);
    const sequence = ++this.#sequence;
    Atomics.store(header, REQUEST, sequence);
    Atomics.notify(header, REQUEST);
    const wait = Atomics.waitAsync(header, DONE, sequence - 1);
    if (wait.async) await Promise.race([wait.value, this.#stopping]);
    if (this.#stopped) throw new EngineError(this.#stopped);
    if (Atomics.load(header, FAILED)) throw new EngineError(readError(this.#channel));
    return this.#channel.time[0];
  }

  /** Stops the worker; runs not yet finished fail with an `EngineError`. */
  close(): void {
    this.#stop("the engine was stopped");
  }

  #stop(reason: string): void {
    if (this.#stopped) return;
    this.#stopped = reason;
    // Ends the worker's wait loop, so it is not blocked in Atomics.wait when terminated.
    Atomics.store(this.#channel.header, REQUEST, STOP);
    Atomics.notify(this.#channel.header, REQUEST);
    this.#worker.terminate();
    this.#onStop(reason);
  }
}
