/**
 * What an `InferenceQueue` (`queue.ts`) is given and what it reports: the
 * engine set it dispatches to, its limits, the budget of `--max-queued`
 * digits it may share with other queues, and the event of every run.
 *
 * @example
 * ```ts
 * import { QueueBudget, type QueueOptions } from "./queue_options.ts";
 *
 * const budget = new QueueBudget(4096); // one bound over every model's queue
 * const options: QueueOptions = { maxBatch: 128, maxQueued: budget.max, budget, model: "mnist" };
 * console.log(options.budget!.queued); // 0
 * console.log(budget.admit(4097, false)?.message); // 0 digits are already waiting and this request has 4097; try again shortly
 * ```
 * @module
 */
import { Status, WireError } from "../../shared/errors.ts";
import type { InferenceEngine } from "./engine.ts";

/** The instances of one model version: what the queue dispatches to, and what a swap replaces. */
export interface EngineSet {
  engines: InferenceEngine[];
  version: number;
}

/** What the queue reports about every run, for metrics. */
export interface RunEvent {
  batchSize: number;
  /** The run's compute time, ms. */
  inferenceMs: number;
  /** Each digit's wait before its run started, ms. */
  queueMs: number[];
  version: number;
  /** The model's name (`QueueOptions.model`), "" when unnamed. */
  model: string;
  failed: boolean;
}

/**
 * The digits every queue of a server holds together, against `--max-queued`:
 * one budget, so a bound holds across models and transports.
 */
export class QueueBudget {
  readonly max: number;
  /** Digits waiting now, over every queue that shares the budget. */
  queued = 0;

  constructor(max: number) {
    this.max = max;
  }

  /** Takes `n` digits' places, or refuses them (`exempt`: past a full budget too). */
  admit(n: number, exempt: boolean): WireError | null {
    if (this.queued + n > this.max && !exempt) {
      return new WireError(
        Status.SERVER_BUSY,
        `${this.queued} digits are already waiting` +
          (n > 1 ? ` and this request has ${n}` : "") + "; try again shortly",
      );
    }
    this.queued += n;
    return null;
  }
}

/** Limits of an `InferenceQueue`. */
export interface QueueOptions {
  /** The most digits in one run. */
  maxBatch: number;
  /** The most digits waiting; more are refused with `SERVER_BUSY`. */
  maxQueued: number;
  /** Shared with other queues: `maxQueued` then bounds all of them together. */
  budget?: QueueBudget;
  /** The model's name, for run events. */
  model?: string;
  /**
   * The run time a batch aims for, in ms: batches are cut to what the
   * engine runs in about this long. Unset: `maxBatch` alone decides.
   */
  batchMs?: number;
  /**
   * With `batchMs`, the most instances that run at once while some owner
   * has more than one digit waiting: fewer than the cores, so that the
   * event loop keeps a core for the other clients' sockets. Unset: all.
   */
  floodInstances?: number;
  /** Called after every run. */
  onRun?: (event: RunEvent) => void;
  /** The most digits the idle lane holds (`submitIdle`); more are refused. Default `maxBatch`. */
  maxIdle?: number;
}
