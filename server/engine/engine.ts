/**
 * The inference engine: an onnxruntime-web (WASM) session in a Worker behind
 * the single-inference lock. `run()` takes a batch of digits and resolves with
 * their scores; calls made while one runs wait their turn, so the session
 * only ever sees one run at a time.
 *
 * Batches travel through shared memory with an `Atomics` handshake
 * (`channel.ts`), not `postMessage`: it is the cheaper way to wake
 * the worker and be woken by it.
 *
 * @example
 * ```ts
 * import { InferenceEngine } from "./engine.ts";
 * import { loadModelFile } from "../models/model.ts";
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
} from "./channel.ts";
import { type EngineKind, engineWorkerUrl } from "./kinds.ts";

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
  /** Threads of the runtime (default 1). */
  threads?: number;
  /** Which onnxruntime runs the model (default "wasm"). */
  engine?: EngineKind;
  /** The most digits one run takes; `run()` splits larger batches. */
  maxBatch?: number;
  /**
   * A run that takes longer than this (ms) is taken for a hung worker: the
   * run fails and the worker is replaced with a fresh one (default 2,000: a
   * full batch takes about 30 ms).
   */
  runTimeoutMs?: number;
}

/** A loaded worker and the memory it shares with the engine. */
interface Spawned {
  worker: Worker;
  channel: EngineChannel;
  shape: ModelShape;
}

/** Starts a worker and loads `model` into it. */
async function spawn(
  model: Uint8Array,
  threads: number,
  maxBatch: number,
  kind: EngineKind,
): Promise<Spawned> {
  const worker = new Worker(engineWorkerUrl(kind), {
    type: "module",
  });
  const channel = createChannel(maxBatch);
  let reply: EngineReply;
  try {
    reply = await new Promise<EngineReply>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<EngineReply>) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new EngineError(`engine worker failed: ${event.message}`));
      };
      worker.postMessage(
        { model, threads, buffer: channel.buffer, maxBatch } satisfies EngineLoad,
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
  return { worker, channel, shape: reply.shape };
}

/** Ends a worker's wait loop (so it is not blocked when terminated), then terminates it. */
function retire({ worker, channel }: Spawned): void {
  Atomics.store(channel.header, REQUEST, STOP);
  Atomics.notify(channel.header, REQUEST);
  worker.terminate();
}

/** An onnxruntime-web session in a Worker, one run at a time. */
export class InferenceEngine {
  readonly shape: ModelShape;
  readonly maxBatch: number;
  /** Workers replaced after a run over `runTimeoutMs`. */
  restarts = 0;
  /** A run longer than this (ms) is taken for a hung worker, which is replaced. */
  runTimeoutMs: number;
  #current: Spawned;
  #model: Uint8Array;
  #threads: number;
  #kind: EngineKind;
  #sequence = 0;
  #lock: Promise<unknown> = Promise.resolve();
  #stopped: string | null = null;
  #onStop: (reason: string) => void = () => {};
  #stopping: Promise<never>;

  private constructor(
    spawned: Spawned,
    model: Uint8Array,
    threads: number,
    kind: EngineKind,
    runTimeoutMs: number,
  ) {
    this.#current = spawned;
    this.#model = model;
    this.#threads = threads;
    this.#kind = kind;
    this.runTimeoutMs = runTimeoutMs;
    this.shape = spawned.shape;
    this.maxBatch = spawned.channel.maxBatch;
    this.#stopping = new Promise<never>((_, reject) => {
      this.#onStop = (reason) => reject(new EngineError(reason));
    });
    this.#stopping.catch(() => {});
    this.#watch(spawned);
  }

  /** Starts the worker and loads `model` (ONNX bytes) into it. */
  static async start(model: Uint8Array, options: EngineOptions = {}): Promise<InferenceEngine> {
    const threads = options.threads ?? 1;
    const kind = options.engine ?? "wasm";
    const spawned = await spawn(model, threads, options.maxBatch ?? 256, kind);
    return new InferenceEngine(spawned, model, threads, kind, options.runTimeoutMs ?? 2_000);
  }

  /** A worker that dies stops the engine: every run from then on fails. */
  #watch(spawned: Spawned): void {
    spawned.worker.onerror = (event) => {
      event.preventDefault();
      if (spawned === this.#current) this.#stop(`engine worker failed: ${event.message}`);
    };
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
      scores.set(this.#current.channel.output.subarray(0, count * 10), done * 10);
    }
    return { scores, ms };
  }

  async #runChunk(input: Float32Array, n: number): Promise<number> {
    if (this.#stopped) throw new EngineError(this.#stopped);
    const { channel } = this.#current;
    const { header } = channel;
    channel.input.set(input);
    Atomics.store(header, COUNT, n);
    const sequence = ++this.#sequence;
    Atomics.store(header, REQUEST, sequence);
    Atomics.notify(header, REQUEST);
    const wait = Atomics.waitAsync(header, DONE, sequence - 1, this.runTimeoutMs);
    const outcome = wait.async ? await Promise.race([wait.value, this.#stopping]) : wait.value;
    if (this.#stopped) throw new EngineError(this.#stopped);
    if (outcome === "timed-out" && Atomics.load(header, DONE) !== sequence) {
      await this.#restart();
      throw new EngineError(
        `a run of ${n} digits took over ${this.runTimeoutMs} ms; the engine worker was replaced`,
      );
    }
    if (Atomics.load(header, FAILED)) throw new EngineError(readError(channel));
    return channel.time[0];
  }

  /** Replaces a hung worker with a fresh one (the lock is held meanwhile). */
  async #restart(): Promise<void> {
    retire(this.#current);
    this.restarts++;
    this.#sequence = 0;
    try {
      this.#current = await spawn(this.#model, this.#threads, this.maxBatch, this.#kind);
      this.#watch(this.#current);
    } catch (e) {
      this.#stop(`the engine worker hung and could not be restarted: ${(e as Error).message}`);
    }
    if (this.#stopped) retire(this.#current);
  }

  /** Stops the worker; runs not yet finished fail with an `EngineError`. */
  close(): void {
    this.#stop("the engine was stopped");
  }

  #stop(reason: string): void {
    if (this.#stopped) return;
    this.#stopped = reason;
    retire(this.#current);
    this.#onStop(reason);
  }
}
