/**
 * The inference queue between the transports (board connections, HTTP) and
 * the engine instances; the one place that decides which instance runs next
 * is its `_dispatch.ts`. Each digit waits here while every instance is busy;
 * when one frees up, what queued goes into its next run as one batch, so a
 * burst of clients costs a few runs rather than one run each. A batch is at most
 * `maxBatch` digits; with `batchMs`, while some client queues more than one
 * digit at a time, at most what the engine runs in about that long (from
 * the measured time per digit): a digit that arrives during a run waits for
 * at most that run and its own, so short runs keep a board's wait short
 * beside a flood. A full queue answers `SERVER_BUSY` at once instead of
 * growing without bound.
 *
 * Below every client's digit there is an idle lane (`submitIdle`): work that
 * answers nobody (a shadow candidate's comparisons) runs only on an instance
 * that is free while no digit of the shared budget waits, is never counted
 * against `--max-queued`, and is refused once the lane holds `maxIdle`
 * digits: under load it is dropped first, and a client's digit never waits
 * for it except for a run already under way.
 *
 * The instances form one `EngineSet`; `swap()` replaces the set between two
 * dispatches: runs already started finish on the old set, which is then
 * closed, and every later batch goes to the new one. What waits, and how it
 * goes into a run and is answered, is a job (`job.ts`).
 *
 * @example
 * ```ts
 * import { InferenceQueue } from "./queue.ts";
 * import { InferenceEngine } from "./engine.ts";
 * import { DEFAULT_MODEL, loadModelFile } from "../models/model.ts";
 * import { WireError } from "../../shared/errors.ts";
 *
 * const model = await loadModelFile(DEFAULT_MODEL, { verifyChecksum: true });
 * const engine = await InferenceEngine.start(model.bytes);
 * const queue = new InferenceQueue({ engines: [engine], version: 1 }, { maxBatch: 128, maxQueued: 4096 });
 * const result = queue.submit(new Uint8Array(784), null);
 * if (!(result instanceof WireError)) console.log((await result).predicted);
 * await queue.close();
 * ```
 * @module
 */
import { Status, WireError } from "../../shared/errors.ts";
import { type EngineSet, QueueBudget, type QueueOptions } from "./queue_options.ts";
import { SetRuns } from "./set_runs.ts";
import { FairQueue } from "./_fair.ts";
import { Dispatcher } from "./_dispatch.ts";
import {
  batchJob,
  digitJob,
  type Inference,
  type InferenceCallback,
  type Job,
  rejectJob,
  settlePromise,
} from "./job.ts";

/** Batches digits for a set of engine instances, one run per instance at a time. */
export class InferenceQueue {
  #options: QueueOptions;
  /** Waiting digits, one lane per owner, taken in turn. */
  #jobs = new FairQueue<Job>((job) => job.n);
  /** The idle lane: one digit each, run only while nothing of the budget waits. */
  #idleJobs: Job[] = [];
  #budget: QueueBudget;
  /** Runs under way by set, retired sets, idle waiters. */
  #runs = new SetRuns();
  /** Which instance runs next, what each run takes, and the runs' figures. */
  #dispatcher: Dispatcher;

  constructor(set: EngineSet, options: QueueOptions) {
    this.#options = options;
    this.#budget = options.budget ?? new QueueBudget(options.maxQueued);
    this.#dispatcher = new Dispatcher(set, options, {
      jobs: this.#jobs,
      idleJobs: this.#idleJobs,
      budget: this.#budget,
      runs: this.#runs,
    });
  }

  /** The set that serves new batches. */
  get engineSet(): EngineSet {
    return this.#dispatcher.set;
  }

  /** The model this queue serves (`QueueOptions.model`; "" when unnamed). */
  get model(): string {
    return this.#options.model ?? "";
  }

  /** Digits waiting for a run. */
  get queued(): number {
    return this.#jobs.length;
  }

  /** Digits answered since start. */
  get served(): number {
    return this.#dispatcher.served;
  }

  /** Runs since start. */
  get runs(): number {
    return this.#dispatcher.runs;
  }

  /** Digits answered per second over the last 10 s, the same for every caller. */
  rate(): number {
    return this.#dispatcher.rate();
  }

  /**
   * Starts the served and run counts, and the rate, from nothing (after the
   * server's own warm-up): digits submitted before are not counted, even
   * when their run ends later.
   */
  resetFigures(): void {
    this.#dispatcher.resetFigures();
  }

  /** The most digits the next run takes: `maxBatch`, or fewer near `batchMs` (`_dispatch.ts`). */
  batchLimit(): number {
    return this.#dispatcher.batchLimit();
  }

  /**
   * Queues one digit (784 bytes or 784 floats; it is copied, so the caller
   * may reuse its buffer). Returns the promise of its inference, or a
   * `SERVER_BUSY` error when the queue is full. Digits of one `owner` (a
   * connection) wait in their own lane; batches take from the lanes in turn,
   * so one client's flood does not delay the others.
   */
  submit(
    digitU8: ArrayLike<number> | null,
    digit: ArrayLike<number> | null,
    owner?: unknown,
    /** `digitU8` is the caller's own copy, given to the queue: it is not copied again. */
    given = false,
  ): Promise<Inference> | WireError {
    let settle!: { resolve: (i: Inference) => void; reject: (e: WireError) => void };
    const promise = new Promise<Inference>((resolve, reject) => settle = { resolve, reject });
    const refused = this.submitWith(digitU8, digit, owner, given, settlePromise, settle);
    return refused ?? promise;
  }

  /**
   * `submit` without a promise: `done(context, result)` is called once with
   * the digit's answer or the error that ended it (never synchronously), or
   * the error is returned at once when the digit is refused. The request path
   * of a board's connection takes this way: one object per digit (its job),
   * no promise and no closure.
   */
  submitWith<C>(
    digitU8: ArrayLike<number> | null,
    digit: ArrayLike<number> | null,
    owner: unknown,
    given: boolean,
    done: InferenceCallback<C>,
    context: C,
  ): WireError | null {
    // A full queue refuses, except an owner's first waiting digit: a board
    // sending one digit at a time always gets in beside a flood (bounded by
    // the connection cap), and rides in the next batch (lanes in turn).
    const exempt = owner !== undefined && this.#jobs.waiting(owner) === 0;
    const refused = this.#budget.admit(1, exempt);
    if (refused) return refused;
    this.#jobs.push(owner, digitJob(digitU8, digit, given, done, context, false));
    this.#dispatcher.pump();
    return null;
  }

  /**
   * Queues one digit (784 bytes, or floats in 0..1, copied) in the idle lane:
   * it runs on an instance that is free while no digit of the shared budget
   * waits, and `done` is told its answer or the error that ended it. Returns
   * false, and queues nothing, when the lane is full: the digit is dropped.
   */
  submitIdle<C>(
    digitU8: Uint8Array | null,
    digit: Float32Array | null,
    done: InferenceCallback<C>,
    context: C,
  ): boolean {
    if (this.#idleJobs.length >= (this.#options.maxIdle ?? this.#options.maxBatch)) return false;
    this.#idleJobs.push(digitJob(digitU8, digit, false, done, context, true));
    this.#dispatcher.pump();
    return true;
  }

  /** Digits waiting in the idle lane. */
  get idleQueued(): number {
    return this.#idleJobs.length;
  }

  /**
   * Looks for a free instance for the idle lane: called when another queue
   * of the budget may have emptied (its requests were answered).
   */
  poke(): void {
    if (this.#idleJobs.length > 0) this.#dispatcher.pump();
  }

  /**
   * Queues `n` digits as one job (an HTTP request's batch): admitted or
   * refused whole, never with the first-digit exception, and run in one
   * engine run, so one version answers them all. `version` > 0: only that
   * version may; after a swap the job gets `MODEL_UNAVAILABLE`. The digits
   * are `n` × 784 bytes, kept as given (the caller changes them no more),
   * or floats, copied.
   */
  submitJob(
    n: number,
    digitU8: Uint8Array | null,
    digit: Float32Array | null,
    owner: unknown,
    version = 0,
  ): Promise<Inference[]> | WireError {
    const refused = this.#budget.admit(n, false);
    if (refused) return refused;
    const promise = new Promise<Inference[]>((resolveAll, reject) => {
      this.#jobs.push(owner, batchJob(n, digitU8, digit, version, resolveAll, reject));
    });
    this.#dispatcher.pump();
    return promise;
  }

  /**
   * Makes `set` serve every batch dispatched from now on. Runs already under
   * way finish on the old set; resolves with the old set once they have, so
   * the caller can close it.
   */
  swap(set: EngineSet): Promise<EngineSet> {
    const old = this.#dispatcher.set;
    this.#dispatcher.set = set;
    this.#dispatcher.pump();
    return this.#runs.retire(old);
  }

  /** Digits queued (the idle lane's too) or in a run under way. */
  get inFlight(): number {
    return this.#jobs.length + this.#idleJobs.length + this.#dispatcher.running;
  }

  /**
   * Resolves once nothing is queued or running, the idle lane included:
   * unlike `drained`, nothing is dropped, so the queue serves on after.
   */
  async settled(): Promise<void> {
    while (this.inFlight > 0) await this.#runs.waitIdle();
  }

  /** Resolves when nothing is queued or running (the idle lane's digits are dropped). */
  drained(): Promise<void> {
    this.#dropIdle();
    if (!this.#runs.busy && this.#jobs.length === 0) return Promise.resolve();
    return this.#runs.waitIdle();
  }

  /** Waits until drained, then closes the engines. */
  async close(): Promise<void> {
    await this.drained();
    for (const engine of this.#dispatcher.set.engines) engine.close();
  }

  /** Ends the idle lane's waiting digits (the queue is closing). */
  #dropIdle(): void {
    const error = new WireError(Status.SERVER_BUSY, "the queue closed before an idle engine");
    for (const job of this.#idleJobs.splice(0)) rejectJob(job, error);
  }
}
