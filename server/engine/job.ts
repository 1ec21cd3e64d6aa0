/**
 * What waits in an `InferenceQueue` (`queue.ts`): a job, one digit of a board
 * or an HTTP request's digits run together; how its digits are copied in as
 * they come, written into an engine's input at dispatch, and how the run's
 * scores answer it (a callback, a promise, or every digit's answer at once).
 *
 * @example
 * ```ts
 * import { answerJobs, digitJob, fillInput, type Inference } from "./job.ts";
 * import type { WireError } from "../../shared/errors.ts";
 *
 * const digit = new Uint8Array(784).fill(255);
 * const job = digitJob(digit, null, false, (_: null, r: Inference | WireError) => console.log(r), null, false);
 * const input = new Float32Array(784);
 * fillInput([job], input);
 * console.log(input[0]); // 1
 * const scores = new Float32Array(10);
 * scores[7] = 1;
 * answerJobs([job], { scores, ms: 0.5 }, performance.now(), 1, 3); // predicted 7, modelVersion 3
 * ```
 * @module
 */
import { argmax, DIGIT_PIXELS } from "../../shared/codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { bytesToFloats } from "./channel.ts";
import type { EngineResult } from "./engine.ts";
import type { QueueBudget } from "./queue_options.ts";

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
  /** The version of the model that answered. */
  modelVersion: number;
}

/** Told once a digit's answer or the error that ended it; `context` is the caller's, passed through. */
export type InferenceCallback<C> = (context: C, result: Inference | WireError) => void;

/** What waits in the queue: one digit of a board, or an HTTP request's digits, run together. */
export interface Job {
  /** How many digits. */
  n: number;
  /** The digits as they came: a copy of their bytes, or their floats already clamped to 0..1. */
  bytes: Uint8Array | null;
  floats: Float32Array | null;
  submitted: number;
  /** The only version that may answer (a versioned route); 0: whichever serves. */
  version: number;
  /** One digit's answer (`submit`), or every digit's (`submitJob`). */
  resolve: ((inference: Inference) => void) | null;
  resolveAll: ((inferences: Inference[]) => void) | null;
  reject: ((error: WireError) => void) | null;
  /** One digit's answer or error, told to a callback with its context (`submitWith`): no promise. */
  done: InferenceCallback<unknown> | null;
  context: unknown;
  /** Work of the idle lane: outside the budget. */
  idle: boolean;
}

/**
 * One digit's job, answered through `done`. A byte digit waits as a copy of
 * its 784 bytes (a quarter of its floats; `given`: the caller's own copy,
 * kept as it is) and becomes floats only in the engine's input at dispatch.
 */
export function digitJob<C>(
  digitU8: ArrayLike<number> | null,
  digit: ArrayLike<number> | null,
  given: boolean,
  done: InferenceCallback<C>,
  context: C,
  idle: boolean,
): Job {
  let bytes: Uint8Array | null = null;
  let floats: Float32Array | null = null;
  if (digitU8) {
    bytes = digitU8 instanceof Uint8Array
      ? (given ? digitU8 : digitU8.slice(0, DIGIT_PIXELS))
      : Uint8Array.from({ length: DIGIT_PIXELS }, (_, i) => digitU8[i]);
  } else {
    floats = new Float32Array(DIGIT_PIXELS);
    normalizeDigit(null, digit, floats);
  }
  return {
    n: 1,
    bytes,
    floats,
    submitted: performance.now(),
    version: 0,
    resolve: null,
    resolveAll: null,
    reject: null,
    done: done as InferenceCallback<unknown>,
    context,
    idle,
  };
}

/**
 * `n` digits as one job, answered all at once; `version` 0: any. Bytes are
 * kept as given (the caller hands them over and changes them no more);
 * floats are checked into a copy.
 */
export function batchJob(
  n: number,
  digitU8: Uint8Array | null,
  digit: Float32Array | null,
  version: number,
  resolveAll: (inferences: Inference[]) => void,
  reject: (error: WireError) => void,
): Job {
  const size = n * DIGIT_PIXELS;
  let bytes: Uint8Array | null = null;
  let floats: Float32Array | null = null;
  // A job's bytes are the transport's own copy (an HTTP body's pixels): kept as they are.
  if (digitU8) bytes = digitU8.length === size ? digitU8 : digitU8.slice(0, size);
  else {
    floats = new Float32Array(size);
    for (let i = 0; i < n; i++) {
      normalizeDigit(null, digit!.subarray(i * DIGIT_PIXELS), floats, i * DIGIT_PIXELS);
    }
  }
  return {
    n,
    bytes,
    floats,
    submitted: performance.now(),
    version,
    resolve: null,
    resolveAll,
    reject,
    done: null,
    context: null,
    idle: false,
  };
}

/** Tells a job's caller that it failed. */
export function rejectJob(job: Job, error: WireError): void {
  if (job.done) job.done(job.context, error);
  else job.reject!(error);
}

/**
 * Copies a digit into `out` as floats in 0..1: bytes are divided by 255;
 * floats are clamped to 0..1, and NaN becomes 0, so a client sending garbage
 * (a legacy stress tool sent uninitialised memory) still gets a
 * meaningful answer.
 */
export function normalizeDigit(
  digitU8: ArrayLike<number> | null,
  digit: ArrayLike<number> | null,
  out: Float32Array,
  at = 0,
): void {
  if (digitU8 instanceof Uint8Array) bytesToFloats(digitU8, out, at, DIGIT_PIXELS);
  else if (digitU8) {
    for (let i = 0; i < DIGIT_PIXELS; i++) out[at + i] = digitU8[i] / 255;
  } else if (digit) {
    for (let i = 0; i < DIGIT_PIXELS; i++) {
      const v = digit[i];
      out[at + i] = v > 0 ? (v < 1 ? v : 1) : 0; // NaN fails both tests and becomes 0.
    }
  }
}

/** Whether every digit of `batch` is bytes: it can run as bytes (`fillBytes`). */
export function allBytes(batch: Job[]): boolean {
  for (const job of batch) if (job.bytes === null) return false;
  return true;
}

/** Copies a batch of byte digits, in order, into an engine's byte input. */
export function fillBytes(batch: Job[], input: Uint8Array): void {
  let at = 0;
  for (const job of batch) {
    const size = job.n * DIGIT_PIXELS;
    const bytes = job.bytes!;
    input.set(bytes.length === size ? bytes : bytes.subarray(0, size), at);
    at += size;
  }
}

/** Writes a batch's digits, in order, into an engine's input as floats in 0..1. */
export function fillInput(batch: Job[], input: Float32Array): void {
  let at = 0;
  for (const job of batch) {
    const { bytes, floats } = job;
    if (floats) input.set(floats, at * DIGIT_PIXELS);
    else if (job.n === 1) normalizeDigit(bytes, null, input, at * DIGIT_PIXELS);
    else {
      for (let i = 0; i < job.n; i++) {
        normalizeDigit(bytes!.subarray(i * DIGIT_PIXELS), null, input, (at + i) * DIGIT_PIXELS);
      }
    }
    at += job.n;
  }
}

/** Answers every job of a batch of `n` digits that ran (started at `started`) on `version`. */
export function answerJobs(
  batch: Job[],
  outcome: EngineResult,
  started: number,
  n: number,
  version: number,
): void {
  let at = 0;
  for (const job of batch) {
    const queueMs = started - job.submitted;
    if (job.done) job.done(job.context, inferenceAt(outcome, at, queueMs, n, version));
    else if (job.resolve) {
      job.resolve(inferenceAt(outcome, at, queueMs, n, version));
    } else {
      const all: Inference[] = [];
      for (let i = 0; i < job.n; i++) {
        all.push(inferenceAt(outcome, at + i, queueMs, n, version));
      }
      job.resolveAll!(all);
    }
    at += job.n;
  }
}

/** Digit `i`'s answer in a run's output. */
function inferenceAt(
  outcome: EngineResult,
  i: number,
  queueMs: number,
  batchSize: number,
  modelVersion: number,
): Inference {
  const scores = outcome.scores.subarray(i * 10, i * 10 + 10);
  return {
    scores,
    predicted: argmax(scores),
    inferenceMs: outcome.ms,
    queueMs,
    batchSize,
    modelVersion,
  };
}

/** `submit`'s callback: settles its promise. */
export function settlePromise(
  settle: { resolve: (i: Inference) => void; reject: (e: WireError) => void },
  result: Inference | WireError,
): void {
  if (result instanceof WireError) settle.reject(result);
  else settle.resolve(result);
}

/**
 * `batch` without the jobs pinned to a version other than `version` (a
 * versioned route that a swap overtook): those are answered
 * `MODEL_UNAVAILABLE` and give their places in `budget` back. `batch`
 * itself when none is.
 */
export function withoutStale(batch: Job[], version: number, budget: QueueBudget): Job[] {
  let stale = 0;
  for (const job of batch) if (job.version !== 0 && job.version !== version) stale++;
  if (stale === 0) return batch;
  const kept: Job[] = [];
  for (const job of batch) {
    if (job.version === 0 || job.version === version) {
      kept.push(job);
      continue;
    }
    budget.queued -= job.n;
    rejectJob(
      job,
      new WireError(
        Status.MODEL_UNAVAILABLE,
        `version ${job.version} is no longer served; version ${version} serves now`,
      ),
    );
  }
  return kept;
}
