/**
 * The listener Workers' failed and hung ones replaced (`ListenerWorkers`
 * owns one): a Worker lost is given up and one started in its place
 * (`ListenerRestarts`, with its back-off); a hung one that runs on is counted
 * as stuck (`StuckWorkers`) and its place moves to a spare column of the
 * limits (`LimitColumns`) until it stops. A new Worker binds the ports the
 * others serve (and the HTTP port, `onRestart`), then takes the failed one's
 * place and serves.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { ListenerSettings } from "./listener_wire.ts";
import type { LimitColumns } from "./limit_columns.ts";
import { ListenerRestarts, RESTART_DELAYS_MS } from "./listener_restarts.ts";
import type { Held, SharedBoardLimits } from "./shared_limits.ts";
import { StuckWorkers } from "./stuck_workers.ts";
import type { WorkerLink } from "./worker_link.ts";
import { bind, type BindDeadlines, spawnListener, StuckWorkerError } from "./worker_start.ts";

/** What replacing a Worker needs of the Workers whose places it fills (`ListenerWorkers`). */
export interface Places {
  /** The Worker of each place: thread i + 1 at i; a new one takes the failed one's index. */
  readonly links: WorkerLink[];
  /** Whether the Workers are stopping: none is started again then. */
  closing(): boolean;
  /** Whether the Workers serve (`serve` was called): a new one then serves at once. */
  servesRequests(): boolean;
  /** The hook a restarted Worker waits for before it serves (`ListenerWorkers.onRestart`). */
  onRestart(): ((link: WorkerLink) => Promise<void>) | null;
  /** Serves `link`'s messages, and waits for its drain at shutdown. */
  listen(link: WorkerLink): void;
  /** Waits no more for `link`'s drain. */
  unlisten(link: WorkerLink): void;
}

/** What a replacement starts its Workers with. */
export interface ReplacementOptions {
  log: Logger;
  limits: SharedBoardLimits;
  /** What every Worker binds with, the ports as the first one bound them. */
  settings: ListenerSettings;
  /** Each place's column in the limits: its own at first, a spare while a stuck Worker has its own. */
  columns: LimitColumns;
  deadlines: BindDeadlines | undefined;
  workerUrl: URL | undefined;
}

/** Starts Workers in failed and hung ones' places; see the module doc. */
export class WorkerReplacement {
  /** Restarts of failed Workers: their count, their back-off. */
  readonly restarts: ListenerRestarts<WorkerLink>;
  /** Workers given up that could not be stopped and still run: the process needs a restart. */
  readonly stuck: StuckWorkers;
  #places: Places;
  #log: Logger;
  #limits: SharedBoardLimits;
  #settings: ListenerSettings;
  #columns: LimitColumns;
  #deadlines: BindDeadlines | undefined;
  #workerUrl: URL | undefined;
  /** Restarted Workers binding, not yet serving. */
  #starting = new Set<WorkerLink>();

  constructor(places: Places, options: ReplacementOptions) {
    this.#places = places;
    this.#log = options.log;
    this.#limits = options.limits;
    this.#settings = options.settings;
    this.#columns = options.columns;
    this.#deadlines = options.deadlines;
    this.#workerUrl = options.workerUrl;
    this.stuck = new StuckWorkers(options.log);
    this.restarts = new ListenerRestarts(
      RESTART_DELAYS_MS,
      options.log,
      (thread) => this.#startAgain(thread),
    );
  }

  /**
   * A Worker has ended without draining (an uncaught error in it, or
   * `terminate()`): the server goes on with the others, and starts one in its
   * place (`ListenerRestarts`) unless it is stopping. What its connections
   * held in the limits is given back, and nothing waits for it any more. So
   * is one that failed before `serve`, in `start` too (after its bind).
   */
  lost(link: WorkerLink, why: string): void {
    if (link.ended) return;
    const held = this.#discard(link, why);
    this.#log.error("a listener Worker failed", { error: why, thread: link.thread, ...held });
    // One failing while it binds is tried again by the restart under way.
    if (this.#places.links[link.thread - 1] === link && !this.#places.closing()) {
      this.restarts.restart(link.thread, why);
    }
  }

  /**
   * Starts a Worker in a hung one's place (`ListenerLiveness`). One that has
   * stopped gives back its column's counts first. One that runs on keeps its
   * column (its sockets are open, its connections counted) and is counted as
   * stuck; its place moves to a spare column, and its own is released and
   * becomes a spare once it stops. With no spare, the place waits for one.
   */
  replace(link: WorkerLink, why: string, release: boolean): void {
    const current = this.#places.links[link.thread - 1] === link && !this.#places.closing();
    if (!release) {
      if (!current) return this.stuck.add(link);
      this.stuck.add(link, () => this.#columnFreed(link.column));
      if (!this.#columns.moveToSpare(link.thread)) {
        this.#log.error("no column of the limits is free for a new listener Worker", {
          thread: link.thread,
          waits: "until a stuck one stops",
        });
        return;
      }
    }
    if (!current) return;
    if (release) this.#limits.release(link.column);
    this.restarts.restart(link.thread, why);
  }

  /**
   * The Workers are stopping: no Worker is restarted any more, and one
   * binding now never serves. Resolves once a restart under way gave up.
   */
  stop(): Promise<void> {
    const restarts = this.restarts.stop();
    for (const link of this.#starting) this.#discard(link, "the listener Workers are stopping");
    return restarts;
  }

  /** A stuck Worker's column, given back now that it has stopped: to a waiting place, or the spares. */
  #columnFreed(column: number): void {
    this.#limits.release(column);
    const waiting = this.#columns.freed(column, !this.#places.closing());
    if (waiting !== undefined) {
      void this.restarts.restart(waiting, "a stuck listener Worker stopped, freeing a column");
    }
  }

  /**
   * Ends a Worker and gives back what it held (with `release`). Only for one
   * that has stopped (an uncaught error ends it before `onerror`) or holds
   * nothing (still binding): `terminate()` does not stop a running Worker at
   * once. One stuck in its start-up keeps its column's counts (`release`
   * false): it runs on.
   */
  #discard(link: WorkerLink, why: string, release = true): Held {
    link.worker.terminate();
    return link.fail(why, release);
  }

  /**
   * A new Worker as `thread`: it binds the ports the others serve (and the
   * HTTP port, `onRestart`), takes the failed one's place and serves. Throws
   * when it fails to, or when the Workers are stopping meanwhile.
   */
  async #startAgain(thread: number): Promise<WorkerLink> {
    const link = spawnListener(
      thread,
      this.#limits,
      this.#log,
      this.#workerUrl,
      this.#columns.of(thread),
    );
    this.#starting.add(link);
    try {
      await bind(link, this.#settings, this.#deadlines);
      this.#places.listen(link);
      // Without one (the HTTP port's half not set up yet) nothing is awaited before the new
      // Worker takes its place, where that half, once set up, finds it and binds it.
      const onRestart = this.#places.onRestart();
      if (onRestart) {
        // Whatever it waits for, it stops waiting when the Worker fails or is discarded.
        const failed = link.failed.then((why) => Promise.reject(new Error(why)));
        await Promise.race([onRestart(link), failed]);
      }
      if (link.ended) throw new Error("it failed before serving");
      if (this.#places.closing()) throw new Error("the listener Workers are stopping");
    } catch (e) {
      // One stuck for good runs on, its sockets open: its column's counts stay.
      const stuck = e instanceof StuckWorkerError;
      this.#discard(link, (e as Error).message, !stuck);
      // Its place is given up while it runs (each Worker started there would join it), and
      // started again once it stops: it never served, so it holds nothing in the limits.
      if (stuck) this.stuck.add(link, () => this.#startAgainOnceFree(thread));
      this.#places.unlisten(link);
      throw e;
    } finally {
      this.#starting.delete(link);
    }
    const failed = this.#places.links[thread - 1];
    this.#places.unlisten(failed);
    // Counted per place, as before the failure.
    link.seen = failed.seen;
    this.#places.links[thread - 1] = link;
    if (this.#places.servesRequests()) link.send({ type: "serve" });
    return link;
  }

  /** Starts a Worker in `thread`'s place, given up while a Worker stuck there ran, unless one serves. */
  #startAgainOnceFree(thread: number): void {
    if (this.#places.closing() || !this.#places.links[thread - 1].ended) return;
    void this.restarts.restart(thread, "a listener Worker stuck there has stopped");
  }
}
