/**
 * The liveness check of the listener Workers (`--listeners N`), in the spirit
 * of the engines' watchdog: every interval the main thread asks each serving
 * Worker for a sign of life (`ping`, answered `pong` by its event loop), and
 * a Worker from which nothing has come for `--listener-timeout-ms` (no
 * answer, no batch: any message it posts counts) is taken for hung and given
 * up. It costs one small message per Worker per interval and one increment
 * per message received (`WorkerLink.signs`), nothing per request.
 *
 * As the engines' watchdog, it counts only time during which this process ran:
 * it credits at most two intervals per wake-up, so a process paused by SIGSTOP
 * (or a main thread starved by the machine) does not take its healthy Workers
 * for hung ones.
 *
 * A hung Worker is given up as a failed one (its connections forgotten, a new
 * one started in its place), but it may still run: Deno's `terminate()` ends
 * a Worker at its event loop's next turn and does not interrupt synchronous
 * JavaScript (a Worker looping went on for seconds after it), so one stuck
 * for good goes on, and keeps its socket, to which the kernel still hands new
 * connections; the log line says so. Its part of the shared limits changes
 * only from its event loop (its connections' code), so it is frozen while
 * the Worker is stuck; it is given back, and its thread taken by the new
 * Worker, `STOP_GRACE_MS` after `terminate()`, so that one that was about to
 * come back has ended by then rather than change counts already given back.
 *
 * @example
 * ```ts
 * import { ListenerLiveness } from "./listener_liveness.ts";
 * import { Logger } from "../log.ts";
 *
 * const workers = { links: [], replace: () => {} }; // a ListenerWorkers
 * const liveness = new ListenerLiveness(5_000, workers, new Logger("error"));
 * console.log(liveness.intervalMs); // 1000
 * liveness.start();
 * liveness.stop();
 * ```
 * @module
 */
import type { Logger } from "../log.ts";
import type { WorkerLink } from "./worker_link.ts";

/**
 * Asks per limit: five, so one late answer (a long GC pause, a burst) is far
 * from fatal, and at the default limit of 5 s a Worker is asked once a second.
 */
const ASKS_PER_LIMIT = 5;

/**
 * How long a hung Worker's part of the limits is kept after `terminate()`,
 * ms: one that comes back to its event loop ends there at once; a second
 * leaves room for the rest of the task it was stuck in, and is short beside
 * the limit it was silent for.
 */
export const STOP_GRACE_MS = 1_000;

/** The Workers watched (`ListenerWorkers`). */
export interface Watchable {
  /** The Workers serving now. */
  readonly links: readonly WorkerLink[];
  /** Starts a Worker in the place of `link`, given up `STOP_GRACE_MS` before; gives back what its thread holds. */
  replace(link: WorkerLink, why: string): void;
}

/** What the check knows of one Worker: its signs when last looked, and time without a new one. */
interface Watched {
  signs: number;
  stalledMs: number;
}

/** Asks the serving Workers for signs of life, and gives up those that show none within the limit. */
export class ListenerLiveness {
  /** How often each Worker is asked, ms. */
  readonly intervalMs: number;
  /** A Worker that shows no sign of life this long (ms of this process's running time) is given up. */
  readonly timeoutMs: number;
  #workers: Watchable;
  #log: Logger;
  /** Hung Workers' waits before they are replaced. */
  #stopWaits = new Set<ReturnType<typeof setTimeout>>();
  #watched = new WeakMap<WorkerLink, Watched>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;

  constructor(timeoutMs: number, workers: Watchable, log: Logger) {
    this.timeoutMs = timeoutMs;
    this.intervalMs = Math.max(1, Math.floor(timeoutMs / ASKS_PER_LIMIT));
    this.#workers = workers;
    this.#log = log;
  }

  /** Starts asking (again a no-op while it asks). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#last = performance.now();
    this.#timer = setInterval(() => this.check(), this.intervalMs);
  }

  /** Stops asking; hung Workers waiting are not replaced (the Workers are stopping). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const wait of this.#stopWaits) clearTimeout(wait);
    this.#stopWaits.clear();
  }

  /** One look at every serving Worker: each is asked again; one silent too long is given up. */
  check(): void {
    const now = performance.now();
    // Time this process did not run is not held against the Workers.
    const ran = Math.min(now - this.#last, 2 * this.intervalMs);
    this.#last = now;
    for (const link of this.#workers.links) {
      if (link.ended) continue;
      const watched = this.#watched.get(link);
      if (!watched) this.#watched.set(link, { signs: link.signs, stalledMs: 0 });
      else if (watched.signs !== link.signs) {
        watched.signs = link.signs;
        watched.stalledMs = 0;
      } else if ((watched.stalledMs += ran) >= this.timeoutMs) {
        this.hung(link, `no sign of life from its event loop for ${this.timeoutMs} ms`);
        continue;
      }
      link.send({ type: "ping" });
    }
  }

  /** Gives up `link`, hung: it is terminated at once, replaced after `STOP_GRACE_MS`. */
  hung(link: WorkerLink, why: string): void {
    if (link.ended) return;
    link.worker.terminate();
    const held = link.fail(why, false);
    this.#log.error("a listener Worker hung: given up", {
      error: why,
      thread: link.thread,
      ...held,
      // Deno cannot interrupt synchronous JavaScript: one stuck for good runs on.
      note: "if it stays stuck it keeps its socket until the process restarts",
    });
    const wait = setTimeout(() => {
      this.#stopWaits.delete(wait);
      this.#workers.replace(link, why);
    }, STOP_GRACE_MS);
    this.#stopWaits.add(wait);
  }
}
