/**
 * What an `InferenceQueue` (`queue.ts`) learns from each run: the engine's
 * time per digit, a running average that sizes the next batches
 * (`nextMsPerDigit`), and the event it reports for metrics (`runEvent`).
 *
 * @example
 * ```ts
 * import { nextMsPerDigit } from "./run_figures.ts";
 *
 * let msPerDigit = nextMsPerDigit(0, 6.4, 64); // the first run sets it: 0.1 ms
 * msPerDigit = nextMsPerDigit(msPerDigit, 0.5, 1); // one digit's run moves it by 1/64 of the gap
 * console.log(msPerDigit.toFixed(4)); // 0.1063
 * ```
 * @module
 */
import type { Job } from "./job.ts";
import type { RunEvent } from "./queue_options.ts";

/** The time per digit after a run of `n` digits that took `ms`, from `current` (0: no run yet). */
export function nextMsPerDigit(current: number, ms: number, n: number): number {
  // A run's fixed cost weighs on a small batch's time per digit: small
  // runs move the average little, so it does not shrink batches further.
  const weight = Math.min(1, n / 64);
  return current === 0 ? ms / n : current + (ms / n - current) * weight;
}

/** The event of a run of `batch` (`n` digits) that started at `started`: each digit's wait, the run's time. */
export function runEvent(
  batch: Job[],
  n: number,
  started: number,
  inferenceMs: number,
  version: number,
  model: string,
  failed: boolean,
): RunEvent {
  const queueMs: number[] = [];
  for (const job of batch) {
    for (let i = 0; i < job.n; i++) queueMs.push(started - job.submitted);
  }
  return { batchSize: n, inferenceMs, queueMs, version, model, failed };
}
