/**
 * One engine instance: an onnxruntime session in a Worker, supervised. It
 * runs one batch at a time (the queue decides which instance runs next and
 * never hands a busy one a batch), warms every worker it starts, and keeps a
 * worker alive: a worker that dies, or hangs, is replaced by a fresh, warmed
 * one (`_supervisor.ts` judges hangs by the worker's progress).
 *
 * Batches travel through shared memory with an `Atomics` handshake
 * (`channel.ts`), not `postMessage`: it is the cheaper way to wake the worker
 * and be woken by it.
 *
 * @example
 * ```ts
 * import { InferenceEngine } from "./engine.ts";
 * import { DEFAULT_MODEL, loadModelFile } from "../models/model.ts";
 *
 * const model = await loadModelFile(DEFAULT_MODEL, { verifyChecksum: true });
 * const engine = await InferenceEngine.start(model.bytes, { threads: 1 });
 * const { scores, ms } = await engine.run(new Float32Array(784), 1);
 * console.log(scores, ms);
 * engine.close();
 * ```
 * @module
 */
import {
  COUNT,
  DONE,
  FAILED,
  INPUT_BYTES,
  type ModelShape,
  nextRun,
  readError,
  REQUEST,
} from "./channel.ts";
import {
  awaitRun,
  type EngineWorkerOptions,
  retire,
  type Spawned,
  spawnEngineWorker,
} from "./_supervisor.ts";
import { serverDefaults } from "../config.ts";
import { engineRuntimeModule, engineWorkerUrl } from "./kinds.ts";
import { type EngineKind } from "../config_spec.ts";

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
  /** Threads of the runtime inside one worker (`--threads`; defaults from the option table). */
  threads?: number;
  /** Which onnxruntime runs the model (`--engine`). */
  engine?: EngineKind;
  /** The most digits one run takes (`--max-batch`); `run()` splits larger batches. */
  maxBatch?: number;
  /**
   * A run during which the worker makes no progress for this long (ms of the
   * process running, not of wall-clock time) is taken for a hung worker: the
   * run fails and a fresh worker replaces it (`--run-timeout-ms`; a full
   * batch takes about 30 ms).
   */
  runTimeoutMs?: number;
  /** How long a worker may take to load and warm up before it is given up, ms (`LOAD_TIMEOUT_MS`). */
  loadTimeoutMs?: number;
  /** The worker script (default: the `engine` kind's); a stand-in speaks the same channel. */
  workerUrl?: string | URL;
  /** Called when a worker is replaced, with the reason. */
  onRestart?: (reason: string) => void;
}

/** Where the engine stands. */
export type EngineState = "ready" | "restarting" | "stopped";

/** How long a worker may take to load and warm up unless told (not an option of the server). */
export const LOAD_TIMEOUT_MS = 30_000;

const RESPAWN_BACKOFF_MS = [0, 100, 500, 2_000, 5_000];

/** An onnxruntime session in a supervised Worker, one run at a time. */
export class InferenceEngine {
  readonly shape: ModelShape;
  readonly maxBatch: number;
  /** Workers replaced since start (hung or died). */
  restarts = 0;
  /** Warm-up runs done, at start and after every restart. */
  warmups = 0;
  /** A run with no progress for this long (ms) is taken for a hung worker. */
  runTimeoutMs: number;
  #current: Spawned | null;
  #model: Uint8Array;
  #options: EngineWorkerOptions;
  #onRestart: (reason: string) => void;
  #run = 0;
  #busy = false;
  #restarting: Promise<void> | null = null;
  #stopped: string | null = null;

  private constructor(
    spawned: Spawned,
    model: Uint8Array,
    options: EngineWorkerOptions,
    runTimeoutMs: number,
    onRestart: (reason: string) => void,
  ) {
    this.#current = spawned;
    this.#model = model;
    this.#options = options;
    this.#onRestart = onRestart;
    this.runTimeoutMs = runTimeoutMs;
    this.shape = spawned.shape;
    this.maxBatch = spawned.channel.maxBatch;
    this.#watch(spawned);
  }

  /** Starts a worker, loads `model` (ONNX bytes) into it and warms it up. */
  static async start(model: Uint8Array, options: EngineOptions = {}): Promise<InferenceEngine> {
    // What a caller leaves out comes from the option table, as for the server.
    const defaults = serverDefaults();
    const kind = options.engine ?? defaults.engine;
    let resolved: EngineWorkerOptions;
    let spawned: Spawned;
    try {
      resolved = {
        threads: options.threads ?? defaults.threads,
        maxBatch: options.maxBatch ?? defaults.maxBatch,
        loadTimeoutMs: options.loadTimeoutMs ?? LOAD_TIMEOUT_MS,
        workerUrl: options.workerUrl ?? engineWorkerUrl(kind),
        // A stand-in worker (`workerUrl`) loads no runtime of ours.
        runtimeModule: options.workerUrl ? undefined : await engineRuntimeModule(kind),
      };
      spawned = await spawnEngineWorker(model, resolved);
    } catch (e) {
      throw new EngineError((e as Error).message);
    }
    const engine = new InferenceEngine(
      spawned,
      model,
      resolved,
      options.runTimeoutMs ?? defaults.runTimeoutMs,
      options.onRestart ?? (() => {}),
    );
    try {
      await engine.#warm();
    } catch (e) {
      engine.close();
      throw e;
    }
    return engine;
  }

  /** "ready" while a worker answers; "restarting" while one is being replaced. */
  get state(): EngineState {
    if (this.#stopped) return "stopped";
    return this.#restarting ? "restarting" : "ready";
  }

  /** True while a run is under way. */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Where a batch of `n` digits can be written for the next `run`: the
   * worker's shared input itself, so the run copies nothing; null when `n`
   * is over `maxBatch`, a run is under way or no worker is up (then `run`
   * takes a buffer of the caller's). A worker replaced in between is given
   * a copy.
   */
  inputFor(n: number): Float32Array | null {
    return this.#writable(n) ? this.#current!.channel.input.subarray(0, n * 784) : null;
  }

  /** As `inputFor`, for digits as bytes 0..255: the worker makes them floats. */
  bytesFor(n: number): Uint8Array | null {
    return this.#writable(n) ? this.#current!.channel.bytes.subarray(0, n * 784) : null;
  }

  #writable(n: number): boolean {
    return n <= this.maxBatch && !this.#busy && !this.#restarting && this.#current !== null;
  }

  /**
   * Runs `n` digits (`input` holds n × 784 floats, or bytes 0..255 that the
   * worker divides by 255, row-major) and resolves with n × 10 scores. One
   * run at a time: the caller (the queue) waits for a run to finish before
   * starting the next; a batch over `maxBatch` runs in pieces.
   */
  async run(input: Float32Array | Uint8Array, n: number): Promise<EngineResult> {
    if (this.#busy) throw new EngineError("the engine is already running a batch");
    this.#busy = true;
    try {
      if (this.#restarting) await this.#restarting;
      const scores = new Float32Array(n * 10);
      let ms = 0;
      for (let done = 0; done < n; done += this.maxBatch) {
        const count = Math.min(this.maxBatch, n - done);
        ms += await this.#runChunk(input.subarray(done * 784, (done + count) * 784), count);
        scores.set(this.#current!.channel.output.subarray(0, count * 10), done * 10);
      }
      return { scores, ms };
    } finally {
      this.#busy = false;
    }
  }

  async #runChunk(input: Float32Array | Uint8Array, n: number): Promise<number> {
    if (this.#stopped || !this.#current) throw new EngineError(this.#stopped ?? "no engine worker");
    const spawned = this.#current;
    const { channel } = spawned;
    const { header } = channel;
    const bytes = input instanceof Uint8Array;
    const into = bytes ? channel.bytes : channel.input;
    // Nothing to copy when the batch was written in place (`inputFor`, `bytesFor`).
    if (input.buffer !== into.buffer || input.byteOffset !== into.byteOffset) {
      into.set(input);
    }
    Atomics.store(header, INPUT_BYTES, bytes ? 1 : 0);
    Atomics.store(header, COUNT, n);
    const run = this.#run = nextRun(this.#run);
    Atomics.store(header, REQUEST, run);
    Atomics.notify(header, REQUEST);
    const outcome = await awaitRun(spawned, run, this.runTimeoutMs);
    if (this.#stopped) throw new EngineError(this.#stopped);
    if (outcome === "hung") {
      this.#replace(`a run of ${n} digits made no progress for ${this.runTimeoutMs} ms`);
      throw new EngineError(
        `a run of ${n} digits made no progress for ${this.runTimeoutMs} ms; ` +
          "the engine worker is being replaced",
      );
    }
    if (outcome === "died") throw new EngineError(spawned.died ?? "the engine worker died");
    if (Atomics.load(header, DONE) !== run) {
      throw new EngineError("the worker answered another run");
    }
    if (Atomics.load(header, FAILED)) throw new EngineError(readError(channel));
    return channel.time[0];
  }

  /** The first runs compile kernels, allocate, and start the runtime's threads (a full batch engages them all). */
  async #warm(): Promise<void> {
    const full = this.maxBatch;
    for (const n of [1, full]) {
      await this.#runChunk(new Float32Array(784 * n), n);
      this.warmups++;
    }
  }

  /** A worker that dies is replaced like a hung one. */
  #watch(spawned: Spawned): void {
    spawned.onDeath = (reason) => {
      if (spawned === this.#current) this.#replace(reason);
    };
  }

  /** Retires the current worker and starts a warmed one, retrying with back-off until it works or the engine stops. */
  #replace(reason: string): void {
    if (this.#restarting || this.#stopped) return;
    if (this.#current) retire(this.#current);
    this.#current = null;
    this.restarts++;
    this.#onRestart(reason);
    this.#restarting = (async () => {
      for (let attempt = 0; !this.#stopped; attempt++) {
        const wait = RESPAWN_BACKOFF_MS[Math.min(attempt, RESPAWN_BACKOFF_MS.length - 1)];
        if (wait) await new Promise((resolve) => setTimeout(resolve, wait));
        try {
          const spawned = await spawnEngineWorker(this.#model, this.#options);
          if (this.#stopped) {
            retire(spawned);
            return;
          }
          this.#current = spawned;
          this.#watch(spawned);
          await this.#warm();
          return;
        } catch (e) {
          if (this.#current) retire(this.#current);
          this.#current = null;
          this.#onRestart(`restart attempt ${attempt + 1} failed: ${(e as Error).message}`);
        }
      }
    })().finally(() => this.#restarting = null);
  }

  /** Stops the worker; runs not yet finished fail with an `EngineError`. */
  close(): void {
    if (this.#stopped) return;
    this.#stopped = "the engine was stopped";
    if (this.#current) retire(this.#current);
  }
}
