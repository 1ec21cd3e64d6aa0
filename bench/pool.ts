/**
 * Spreads a load test's clients over Deno Workers, so the load generator is
 * not one event loop that may itself be the bottleneck; with `workers: 0` the
 * clients run in the calling thread. All runners are prepared first and then
 * started together; their records are merged onto one clock, and the CPU each
 * Worker used (and the whole bench process) comes back with them, so a
 * reader can tell whether the load generator was saturated.
 *
 * @example
 * ```ts
 * import { LoadPool } from "./pool.ts";
 * import { syntheticDigits } from "./digits.ts";
 * import { startServer } from "../server/server.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0, httpPort: 0 });
 * const pool = await LoadPool.create(2, syntheticDigits(10));
 * const result = await pool.run({
 *   hostname: "127.0.0.1", port: server.addr.port, httpPort: server.http!.addr.port,
 *   protocol: "legacy", digits: "float", keepAlive: false, garbage: false,
 *   clients: 20, requests: 1, durationMs: 10_000, timeoutMs: 10_000,
 * });
 * console.log(result.count, result.elapsedMs, result.workerCpuMs); // 20 ... [ ..., ... ]
 * pool.close();
 * await server.shutdown();
 * ```
 * @module
 */
import { processCpuMs } from "./cpu.ts";
import type { DigitSet } from "./digits.ts";
import { LoadRunner } from "./load.ts";
import { type LoadPlan } from "./load_plan.ts";
import { type LoadResult } from "./load_record.ts";

/** Messages to a load Worker. */
export type PoolRequest =
  | { type: "digits"; set: DigitSet }
  | { type: "prepare"; plan: LoadPlan }
  | { type: "go" };

/** Messages from a load Worker. */
export type PoolReply =
  | { type: "ready" }
  | { type: "progress"; done: number }
  | { type: "result"; result: LoadResult }
  | { type: "error"; message: string };

/** What a whole run asks for: a `LoadPlan` without the split. */
export type RunPlan = Omit<LoadPlan, "firstClient">;

/** The merged record of every runner. */
export interface PoolResult extends Omit<LoadResult, "cpuNs"> {
  /** CPU time of each runner's thread during the run, in ms (NaN where unknown). */
  workerCpuMs: number[];
  /** CPU time of the whole bench process during the run (all threads), in ms. */
  processCpuMs: number;
  /** Runners used (0: the calling thread). */
  workers: number;
}

interface Slot {
  worker: Worker;
  handle: (reply: PoolReply) => void;
}

/** A set of load Workers, reused across runs. */
export class LoadPool {
  #slots: Slot[];
  #digits: DigitSet;

  private constructor(slots: Slot[], digits: DigitSet) {
    this.#slots = slots;
    this.#digits = digits;
  }

  /** Starts `workers` Workers (0: run in this thread) and hands them the digits. */
  static create(workers: number, digits: DigitSet): Promise<LoadPool> {
    const slots: Slot[] = [];
    for (let i = 0; i < workers; i++) {
      const worker = new Worker(new URL("./_load_worker.ts", import.meta.url).href, {
        type: "module",
        name: `load-${i + 1}`,
      });
      const slot: Slot = { worker, handle: () => {} };
      worker.onmessage = (event: MessageEvent<PoolReply>) => slot.handle(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        slot.handle({ type: "error", message: event.message });
      };
      worker.postMessage({ type: "digits", set: digits } satisfies PoolRequest);
      slots.push(slot);
    }
    return Promise.resolve(new LoadPool(slots, digits));
  }

  /** Runners in use (0: the calling thread). */
  get workers(): number {
    return this.#slots.length;
  }

  /**
   * Runs `plan.clients` clients, split evenly over the runners, started
   * together. `onProgress` hears the requests finished so far, a few times a second.
   */
  async run(plan: RunPlan, onProgress: (done: number) => void = () => {}): Promise<PoolResult> {
    const k = this.#slots.length;
    const shares = splitClients(plan.clients, Math.max(1, k));
    const plans = shares.map((share) => ({ ...plan, ...share }));
    if (k === 0) return await this.#runHere(plans[0], onProgress);

    // Prepare every runner, then start them together.
    const done = new Array<number>(k).fill(0);
    const results: Promise<LoadResult>[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < k; i++) {
      const slot = this.#slots[i];
      let onReady: () => void = () => {};
      let fail: (e: Error) => void = () => {};
      ready.push(
        new Promise<void>((resolve, reject) => {
          onReady = resolve;
          fail = reject;
        }),
      );
      results.push(
        new Promise<LoadResult>((resolve, reject) => {
          slot.handle = (reply) => {
            if (reply.type === "ready") onReady();
            else if (reply.type === "progress") {
              done[i] = reply.done;
              onProgress(done.reduce((a, b) => a + b, 0));
            } else if (reply.type === "result") resolve(reply.result);
            else {
              const error = new Error(`load worker ${i + 1}: ${reply.message}`);
              fail(error);
              reject(error);
            }
          };
        }),
      );
      results[i].catch(() => {});
      slot.worker.postMessage({ type: "prepare", plan: plans[i] } satisfies PoolRequest);
    }
    await Promise.all(ready);
    const cpu = processCpuMs();
    const origin = performance.timeOrigin + performance.now();
    const started = performance.now();
    for (const slot of this.#slots) slot.worker.postMessage({ type: "go" } satisfies PoolRequest);
    const all = await Promise.all(results);
    const elapsedMs = performance.now() - started;
    return merge(all, origin, elapsedMs, processCpuMs() - cpu, k);
  }

  async #runHere(plan: LoadPlan, onProgress: (done: number) => void): Promise<PoolResult> {
    const runner = new LoadRunner(plan, this.#digits);
    const cpu = processCpuMs();
    const origin = performance.timeOrigin + performance.now();
    const started = performance.now();
    const timer = setInterval(() => onProgress(runner.done), 200);
    try {
      const result = await runner.run();
      const elapsedMs = performance.now() - started;
      return merge([result], origin, elapsedMs, processCpuMs() - cpu, 0);
    } finally {
      clearInterval(timer);
    }
  }

  /** Stops the Workers. */
  close(): void {
    for (const slot of this.#slots) slot.worker.terminate();
    this.#slots = [];
  }
}

/** Splits `clients` into `k` contiguous shares that differ by at most one. */
export function splitClients(
  clients: number,
  k: number,
): { clients: number; firstClient: number }[] {
  const out = [];
  for (let i = 0; i < k; i++) {
    const first = Math.floor((i * clients) / k);
    const next = Math.floor(((i + 1) * clients) / k);
    out.push({ clients: next - first, firstClient: first });
  }
  return out;
}

/** Concatenates runners' records, their start times moved onto the clock of `originMs`. */
export function merge(
  results: LoadResult[],
  originMs: number,
  elapsedMs: number,
  processCpu: number,
  workers: number,
): PoolResult {
  const count = results.reduce((n, r) => n + r.count, 0);
  const out: PoolResult = {
    count,
    latencyMs: new Float64Array(count),
    startMs: new Float64Array(count),
    status: new Int16Array(count),
    inferenceMs: new Float32Array(count),
    queueMs: new Float32Array(count),
    batchSize: new Uint16Array(count),
    correct: new Int8Array(count),
    errors: {},
    originMs,
    elapsedMs,
    workerCpuMs: results.map((r) => (r.cpuNs === null ? NaN : r.cpuNs / 1e6)),
    processCpuMs: processCpu,
    workers,
  };
  let at = 0;
  for (const r of results) {
    out.latencyMs.set(r.latencyMs, at);
    out.status.set(r.status, at);
    out.inferenceMs.set(r.inferenceMs, at);
    out.queueMs.set(r.queueMs, at);
    out.batchSize.set(r.batchSize, at);
    out.correct.set(r.correct, at);
    const shift = r.originMs - originMs;
    for (let i = 0; i < r.count; i++) out.startMs[at + i] = r.startMs[i] + shift;
    for (const [kind, n] of Object.entries(r.errors)) {
      out.errors[kind] = (out.errors[kind] ?? 0) + n;
    }
    at += r.count;
  }
  return out;
}
