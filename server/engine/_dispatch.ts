/**
 * Which engine instance runs next, for one `InferenceQueue` (`queue.ts`):
 * the queue's waiting digits go to the free instances of the current set in
 * batches of at most `batchLimit()` digits (to fewer instances while some
 * client queues ahead), the idle lane's to instances that nobody's digit
 * waits for; each run is fed, counted (digits served, runs, the rate, the
 * engine's time per digit that sizes the next batches) and answered when it
 * ends. The queue admits digits into its lanes and owns them; this takes
 * from them.
 *
 * @module
 */
import { DIGIT_PIXELS } from "../../shared/codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import type { EngineResult, InferenceEngine } from "./engine.ts";
import type { EngineSet, QueueBudget, QueueOptions } from "./queue_options.ts";
import type { SetRuns } from "./set_runs.ts";
import type { FairQueue } from "./_fair.ts";
import { RateWindow } from "./_rate.ts";
import { nextMsPerDigit, runEvent } from "./run_figures.ts";
import {
  allBytes,
  answerJobs,
  fillBytes,
  fillInput,
  type Job,
  rejectJob,
  withoutStale,
} from "./job.ts";

/** Batches a queue's waiting digits for its engine set, one run per instance at a time. */
export class Dispatcher {
  /** The set that serves new batches. */
  set: EngineSet;
  #options: QueueOptions;
  /** The queue's waiting digits, one lane per owner, taken in turn. */
  #jobs: FairQueue<Job>;
  /** The queue's idle lane: one digit each, run only while nothing of the budget waits. */
  #idleJobs: Job[];
  #budget: QueueBudget;
  /** Runs under way by set, retired sets, idle waiters. */
  #runs: SetRuns;
  /** Digits in the runs under way. */
  #running = 0;
  #served = new RateWindow(10);
  /**
   * Digits submitted before this (`resetFigures`: the warm-up's, answered
   * late) are not counted. A double from the start: a field that goes from a
   * small integer to a double gives the dispatcher a new hidden class, and V8
   * throws away every function compiled for the old one, at the first
   * request after the warm-up.
   */
  #figuresFrom = -Infinity;
  /** Measured engine time per digit, ms (a running average weighted by batch size); 0 until the first run. */
  #msPerDigit = 0;
  /** Digits answered since start. */
  served = 0;
  /** Runs since start. */
  runs = 0;

  constructor(
    set: EngineSet,
    options: QueueOptions,
    lanes: { jobs: FairQueue<Job>; idleJobs: Job[]; budget: QueueBudget; runs: SetRuns },
  ) {
    this.set = set;
    this.#options = options;
    this.#jobs = lanes.jobs;
    this.#idleJobs = lanes.idleJobs;
    this.#budget = lanes.budget;
    this.#runs = lanes.runs;
  }

  /** Digits in the runs under way. */
  get running(): number {
    return this.#running;
  }

  /** Digits answered per second over the last 10 s, the same for every caller. */
  rate(): number {
    return this.#served.rate();
  }

  /** Counts from nothing: digits submitted before now are not counted (`InferenceQueue.resetFigures`). */
  resetFigures(): void {
    this.served = this.runs = 0;
    this.#served.reset();
    this.#figuresFrom = performance.now();
  }

  /** Hands queued digits to every free instance of the current set (fewer while flooded). */
  pump(): void {
    const set = this.set;
    const { batchMs, floodInstances } = this.#options;
    const cap = batchMs && floodInstances && this.#jobs.deepLanes > 0 ? floodInstances : Infinity;
    let running = 0;
    if (cap !== Infinity) { for (const engine of set.engines) if (engine.busy) running++; }
    for (const engine of set.engines) {
      if (this.#jobs.length === 0 || running >= cap) break;
      if (engine.busy) continue;
      this.#dispatch(set, engine, this.#takeFor(set));
      running++;
    }
    // The idle lane takes what nobody's digit waits for.
    if (this.#idleJobs.length === 0 || this.#budget.queued > 0) return;
    for (const engine of set.engines) {
      if (this.#idleJobs.length === 0) return;
      if (!engine.busy) this.#dispatch(set, engine, this.#idleJobs.splice(0, this.batchLimit()));
    }
  }

  /**
   * The most digits the next run takes: `maxBatch`, or fewer to keep it near
   * `batchMs` while some owner has more than one digit waiting. Clients that
   * wait for each answer (boards, one-shot legacy clients) are best served
   * by the fullest runs, which the engine does fastest; once someone queues
   * ahead (a pipelining client, a flood), short runs keep a board's digit
   * from waiting behind a long one, and the one queueing ahead pays.
   */
  batchLimit(): number {
    const { maxBatch, batchMs } = this.#options;
    if (!batchMs || this.#msPerDigit === 0 || this.#jobs.deepLanes === 0) return maxBatch;
    return Math.max(1, Math.min(maxBatch, Math.floor(batchMs / this.#msPerDigit)));
  }

  /** Runs `batch` (queued digits, or the idle lane's) on `engine`. */
  async #dispatch(set: EngineSet, engine: InferenceEngine, batch: Job[]): Promise<void> {
    let n = 0;
    for (const job of batch) n += job.n;
    if (n === 0) return this.#whenIdle();
    if (!batch[0].idle) this.#budget.queued -= n;
    // Written straight into the worker's shared input when it can take it;
    // byte digits as bytes, which the worker makes floats off this thread.
    let input: Float32Array | Uint8Array;
    if (allBytes(batch)) {
      input = engine.bytesFor(n) ?? new Uint8Array(n * DIGIT_PIXELS);
      fillBytes(batch, input);
    } else {
      input = engine.inputFor(n) ?? new Float32Array(n * DIGIT_PIXELS);
      fillInput(batch, input);
    }
    this.#runs.started(set);
    this.#running += n;
    const started = performance.now();
    const result = engine.run(input, n);
    let outcome: EngineResult | WireError;
    try {
      outcome = await result;
    } catch (e) {
      outcome = new WireError(Status.INTERNAL_ERROR, `inference failed: ${(e as Error).message}`);
    }
    // Start this instance's next run before answering, so it works while
    // this thread encodes and writes the replies.
    this.#running -= n;
    this.#finish(set);
    this.pump();
    this.#answer(batch, n, started, outcome, set.version);
  }

  /**
   * The next batch for `set`: jobs pinned to another version (a versioned
   * route that a swap overtook) are answered `MODEL_UNAVAILABLE` instead.
   */
  #takeFor(set: EngineSet): Job[] {
    for (;;) {
      const batch = this.#jobs.take(this.batchLimit());
      const kept = withoutStale(batch, set.version, this.#budget);
      if (kept === batch || kept.length > 0 || this.#jobs.length === 0) return kept;
    }
  }

  /** A run of `set` ended. */
  #finish(set: EngineSet): void {
    if (this.#runs.ended(set)) this.#whenIdle();
  }

  #whenIdle(): void {
    if (!this.#runs.busy && this.#jobs.length === 0) this.#runs.idle();
  }

  #answer(
    batch: Job[],
    n: number,
    started: number,
    outcome: EngineResult | WireError,
    version: number,
  ): void {
    const failed = outcome instanceof WireError;
    let counted = 0;
    for (const job of batch) if (job.submitted >= this.#figuresFrom) counted += job.n;
    if (counted > 0) this.runs++;
    if (!failed) {
      this.served += counted;
      if (counted > 0) this.#served.add(counted);
      this.#msPerDigit = nextMsPerDigit(this.#msPerDigit, outcome.ms, n);
    }
    if (this.#options.onRun) {
      const model = this.#options.model ?? "";
      this.#options.onRun(
        runEvent(batch, n, started, failed ? 0 : outcome.ms, version, model, failed),
      );
    }
    if (failed) {
      for (const job of batch) rejectJob(job, outcome);
      return;
    }
    answerJobs(batch, outcome, started, n, version);
  }
}
