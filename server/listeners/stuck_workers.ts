/**
 * Listener Workers given up that could not be stopped: Deno's `terminate()`
 * does not interrupt JavaScript stuck in a loop, so such a Worker runs on
 * with its sockets open, and the kernel still hands it a share of new
 * connections, which wait. The server cannot end this itself; while one
 * runs, `GET /v2/health/live` answers 503 and `mnist_live` is 0, so that
 * what supervises the process (a liveness probe, an alert) restarts it. A
 * stuck Worker that stops after all is counted no longer, and its owner is
 * told (a place given up is started again).
 *
 * @example
 * ```ts
 * import { StuckWorkers } from "./stuck_workers.ts";
 * import { Logger } from "../log.ts";
 *
 * const stuck = new StuckWorkers(new Logger("error"));
 * console.log(stuck.count); // 0
 * stuck.stop();
 * ```
 * @module
 */
import type { Logger } from "../log.ts";
import type { WorkerLink } from "./worker_link.ts";

/** The Workers that could not be stopped and still run. */
export class StuckWorkers {
  #links = new Set<WorkerLink>();
  #stopping = new AbortController();

  constructor(readonly log: Logger) {}

  /** Workers given up that still run. */
  get count(): number {
    return this.#links.size;
  }

  /** Counts `link`'s Worker (given up, not stopped) until it stops; then calls `onStopped`. */
  add(link: WorkerLink, onStopped?: () => void): void {
    if (this.#links.has(link) || this.#stopping.signal.aborted) return;
    this.#links.add(link);
    void link.stopped(this.#stopping.signal).then((stopped) => {
      if (!stopped) return;
      this.#links.delete(link);
      this.log.info("a stuck listener Worker stopped", { thread: link.thread });
      onStopped?.();
    });
  }

  /** The Workers are stopping: nothing waits for a stuck one any more. */
  stop(): void {
    this.#stopping.abort();
  }
}
