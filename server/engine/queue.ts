/**
 * The inference queue between connections and the engine. Each digit waits
 * here while the engine is busy; when the engine frees up, everything that
 * queued goes into the next run as one batch (up to `maxBatch`), so a burst of
 * clients costs a few runs rather than one run each. A full queue answers
 * `SERVER_BUSY` at once instead of growing without bound.
 *
 * @example
 * ```ts
 * import { InferenceQueue } from "./queue.ts";
 * import { InferenceEngine } from "./engine.ts";
 * import { loadModelFile } from "../models/model.ts";
 * import { WireError } from "../../shared/errors.ts";
 *
 * const model = await loadModelFile("models/mnist.onnx", { verifyChecksum: true });
 * const engine = await InferenceEngine.start(model.bytes);
 * const queue = new InferenceQueue(engine, { maxBatch: 128, maxQueued: 4096 });
 * const result = queue.submit(new Uint8Array(784), null);
 * if (!(result instanceof WireError)) console.log((await result).predicted);
 * engine.close();
 * ```
 * @module
 */
import { DIGIT_PIXELS } from "../../shared/codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import type { EngineResult, InferenceEngine } from "./engine.ts";

/** What one digit gets back. */
export interface Inference {
  /** The 10 scores (a view into the batch's output). */
  scores: Float32Array;
  predicted: number;
  /** The time of the run this digit was in, in ms. */
  inferenceMs: number;
  /** Time from submission to the start of its run, in ms. */
  queueMs: number;
  batchSize: number;
}

interface Job {
  pixels: Float32Array;
  submitted: number;
  resolve: (inference: Inference) => void;
  reject: (error: WireError) => void;
}

/** Limits of an `InferenceQueue`. */
export interface QueueOptions {
  /** The most digits in one run. */
  maxBatch: number;
  /** The most digits waiting; more are refused with `SERVER_BUSY`. */
  maxQueued: number;
  /** Told of every finished run (metrics). */
  onRun?: (batchSize: number, runMs: number) => void;
}

/**
 * Copies a digit into `out` as floats in 0..1: bytes are divided by 255;
 * floats are clamped to 0..1, and NaN becomes 0, so a client sending garbage
 * (the earlier design's stress tool sent uninitialised memory) still gets a
 * meaningful answer.
 */
export function normalizeDigit(
  digitU8: ArrayLike<number> | null,
  digit: ArrayLike<number> | null,
  out: Float32Array,
): void {
  if (digitU8) {
    for (let i = 0; i < DIGIT_PIXELS; i++) out[i] = digitU8[i] / 255;
  } else if (digit) {
    for (let i = 0; i < DIGIT_PIXELS; i++) {
      const v = digit[i];
      out[i] = v > 0 ? (v < 1 ? v : 1) : 0; // NaN fails both tests and becomes 0.
    }
  }
}

function argmax(scores: Float32Array): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

/** Batches digits for an `InferenceEngine`, one run at a time. */
export class InferenceQueue {
  #engine: InferenceEngine;
  #options: QueueOptions;
  #jobs: Job[] = [];
  #running = false;
  #idle: (() => void)[] = [];
  /** Digits answered since start. */
  served = 0;
  /** Runs since start. */
  runs = 0;

  constructor(engine: InferenceEngine, options: QueueOptions) {
    this.#engine = engine;
    this.#options = options;
  }

  /** Digits waiting for a run. */
  get queued(): number {
    return this.#jobs.length;
  }

  /**
   * Queues one digit (784 bytes or 784 floats; it is copied, so the caller
   * may reuse its buffer). Returns the promise of its inference, or a
   * `SERVER_BUSY` error when the queue is full.
   */
  submit(
    digitU8: ArrayLike<number> | null,
    digit: ArrayLike<number> | null,
  ): Promise<Inference> | WireError {
    if (this.#jobs.length >= this.#options.maxQueued) {
      return new WireError(
        Status.SERVER_BUSY,
        `${this.#jobs.length} digits are already waiting; try again shortly`,
      );
    }
    const pixels = new Float32Array(DIGIT_PIXELS);
    normalizeDigit(digitU8, digit, pixels);
    const promise = new Promise<Inference>((resolve, reject) => {
      this.#jobs.push({ pixels, submitted: performance.now(), resolve, reject });
    });
    if (!this.#running) this.#runNext();
    return promise;
  }

  /** Resolves when nothing is queued or running. */
  drained(): Promise<void> {
    if (!this.#running && this.#jobs.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #runNext(): Promise<void> {
    this.#running = true;
    let run: Run | null = this.#dispatch();
    while (run) {
      let result: EngineResult | null = null;
      let error: WireError | null = null;
      try {
        result = await run.result;
      } catch (e) {
        error = new WireError(Status.INTERNAL_ERROR, `inference failed: ${(e as Error).message}`);
      }
      // Start the next run before answering this one, so the engine works
      // while this thread encodes and writes the replies.
      const finished = run;
      run = this.#jobs.length > 0 ? this.#dispatch() : null;
      if (result) this.#answer(finished, result);
      else for (const job of finished.batch) job.reject(error!);
    }
    this.#running = false;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Takes up to `maxBatch` queued digits and hands them to the engine. */
  #dispatch(): Run {
    const batch = this.#jobs.splice(0, this.#options.maxBatch);
    const n = batch.length;
    const input = new Float32Array(n * DIGIT_PIXELS);
    for (let i = 0; i < n; i++) input.set(batch[i].pixels, i * DIGIT_PIXELS);
    return { batch, started: performance.now(), result: this.#engine.run(input, n) };
  }

  #answer(run: Run, { scores, ms }: EngineResult): void {
    const n = run.batch.length;
    this.runs++;
    this.served += n;
    this.#options.onRun?.(n, ms);
    for (let i = 0; i < n; i++) {
      const own = scores.subarray(i * 10, i * 10 + 10);
      run.batch[i].resolve({
        scores: own,
        predicted: argmax(own),
        inferenceMs: ms,
        queueMs: run.started - run.batch[i].submitted,
        batchSize: n,
      });
    }
  }
}

/** A batch handed to the engine. */
interface Run {
  batch: Job[];
  started: number;
  result: Promise<EngineResult>;
}
