/**
 * A failed listener Worker (`--listeners N`) started again in its place, as
 * an engine Worker is: the same thread in the shared limits (what the failed
 * one held was given back), the same ports (`reusePort`), then it serves.
 * The attempts in a row on one thread wait longer each time
 * (`RESTART_DELAYS_MS`), so a Worker that fails at once again does not spin;
 * one that served `RESTART_SETTLED_MS` before failing starts the back-off
 * over. `ListenerWorkers` owns one and says how a Worker is started.
 *
 * @example
 * ```ts
 * import { ListenerRestarts } from "./listener_restarts.ts";
 * import { Logger } from "../log.ts";
 *
 * let tries = 0;
 * const restarts = new ListenerRestarts([0, 10], new Logger("error", () => {}), (thread) => {
 *   if (++tries < 3) return Promise.reject(new Error("not yet"));
 *   return Promise.resolve(`Worker of thread ${thread}`);
 * });
 * console.log(await restarts.restart(1, "it failed")); // "Worker of thread 1", at the third try
 * console.log(restarts.count); // 1
 * await restarts.stop(); // a restart under way gives up; none starts again
 * ```
 * @module
 */
import type { Logger } from "../log.ts";
import { StuckWorkerError } from "./worker_start.ts";

/** The waits before the attempts in a row on one thread, ms: the first at once, then longer (the last repeats). */
export const RESTART_DELAYS_MS: readonly number[] = [0, 100, 500, 2_000, 5_000];

/** A Worker that served this long (ms) before it failed was not failing at once: its back-off starts over. */
export const RESTART_SETTLED_MS = 30_000;

/** One thread's attempts in a row, and since when its Worker has served. */
interface Attempts {
  inRow: number;
  servingSince: number;
}

/** Restarts of failed listener Workers, `T` being what a started Worker is. */
export class ListenerRestarts<T> {
  /** Workers started in place of a failed one since start. */
  count = 0;
  /**
   * The waits before the attempts in a row on one thread, ms (the last
   * repeats); read at each attempt, so a test may set a long one to watch the
   * Workers down.
   */
  delaysMs: readonly number[];
  #log: Logger;
  #start: (thread: number) => Promise<T>;
  #attempts = new Map<number, Attempts>();
  /** Back-off waits under way: each ends early on `stop`. */
  #waits = new Map<ReturnType<typeof setTimeout>, () => void>();
  #under = new Set<Promise<T | null>>();
  #stopped = false;

  /** `start` binds a new Worker as `thread` and has it serve; it throws when that fails. */
  constructor(delaysMs: readonly number[], log: Logger, start: (thread: number) => Promise<T>) {
    this.delaysMs = delaysMs;
    this.#log = log;
    this.#start = start;
  }

  /**
   * Starts a Worker as `thread`, after the back-off, until one serves; the
   * started Worker, or null once `stop` was called or a start failed with a
   * `StuckWorkerError` (a Worker that runs on, stuck: each started after it
   * would join it, so its place is given up and logged).
   */
  restart(thread: number, why: string): Promise<T | null> {
    const under = this.#restart(thread, why).finally(() => this.#under.delete(under));
    this.#under.add(under);
    return under;
  }

  /** No restart starts any more; those waiting give up. Resolves once none is under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const [timer, end] of this.#waits) {
      clearTimeout(timer);
      end();
    }
    this.#waits.clear();
    await Promise.all(this.#under);
  }

  async #restart(thread: number, why: string): Promise<T | null> {
    const attempts = this.#attempts.get(thread) ?? { inRow: 0, servingSince: -Infinity };
    this.#attempts.set(thread, attempts);
    if (performance.now() - attempts.servingSince >= RESTART_SETTLED_MS) attempts.inRow = 0;
    while (!this.#stopped) {
      const delays = this.delaysMs;
      const waitMs = delays[Math.min(attempts.inRow, delays.length - 1)] ?? 0;
      attempts.inRow++;
      this.#log.info("restarting a listener Worker", { thread, waitMs, why });
      if (waitMs > 0) await this.#sleep(waitMs);
      if (this.#stopped) break;
      try {
        const started = await this.#start(thread);
        attempts.servingSince = performance.now();
        this.count++;
        this.#log.info("a listener Worker restarted", { thread, attempt: attempts.inRow });
        return started;
      } catch (e) {
        why = `attempt ${attempts.inRow} failed: ${(e as Error).message}`;
        if (this.#stopped) break;
        if (e instanceof StuckWorkerError) {
          // Every Worker started on this thread would join the one still running there.
          this.#log.error("a listener Worker stuck while it started: its place is given up", {
            thread,
            why,
          });
          break;
        }
        this.#log.error("a listener Worker failed to restart", { thread, why });
      }
    }
    return null;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waits.delete(timer);
        resolve();
      }, ms);
      this.#waits.set(timer, resolve);
    });
  }
}
