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
 * connections. What its connections hold in the shared limits is given back
 * only once it has truly stopped, which Deno tells through the Web Lock it
 * holds while it lives (`WorkerLink.stopped`): no count of a running Worker is
 * changed under it. One that has not stopped within `STOP_WAIT_MS` is
 * replaced regardless, its counts kept (its sockets are still open), and the
 * log says to restart the process.
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
import { STOP_WAIT_MS } from "./worker_start.ts";

/**
 * Asks per limit: five, so one late answer (a long GC pause, a burst) is far
 * from fatal, and at the default limit of 5 s a Worker is asked once a second.
 */
const ASKS_PER_LIMIT = 5;

/** The Workers watched (`ListenerWorkers`). */
export interface Watchable {
  /** The Workers serving now. */
  readonly links: readonly WorkerLink[];
  /** Starts a Worker in the place of hung `link`, after giving back what its thread holds when `release`. */
  replace(link: WorkerLink, why: string, release: boolean): void;
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
  /** Hung Workers' waits to stop: each ends early on `stop`. */
  #stopWaits = new Set<AbortController>();
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
    const waits = [...this.#stopWaits];
    this.#stopWaits.clear();
    for (const wait of waits) wait.abort();
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
        void this.hung(link, `no sign of life from its event loop for ${this.timeoutMs} ms`);
        continue;
      }
      link.send({ type: "ping" });
    }
  }

  /** Gives up `link`, hung: terminated at once, replaced once it has stopped (or `STOP_WAIT_MS`). */
  async hung(link: WorkerLink, why: string): Promise<void> {
    if (link.ended) return;
    link.worker.terminate();
    const held = link.fail(why, false);
    const { thread } = link;
    this.#log.error("a listener Worker hung: given up", { error: why, thread, ...held });
    const wait = new AbortController();
    this.#stopWaits.add(wait);
    const timer = setTimeout(() => wait.abort(), STOP_WAIT_MS);
    const stopped = await link.stopped(wait.signal);
    clearTimeout(timer);
    // Deleted already: the Workers are stopping, and give back every thread's counts.
    if (!this.#stopWaits.delete(wait)) return;
    if (stopped) this.#log.info("a hung listener Worker stopped", { thread });
    else {
      // Deno cannot interrupt synchronous JavaScript: it runs on, its sockets open and counted.
      this.#log.error("a hung listener Worker did not stop; restart the process", { thread });
    }
    this.#workers.replace(link, why, stopped);
  }
}
