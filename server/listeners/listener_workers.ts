/**
 * The board port served by N listener Workers (`--listeners N`; the HTTP
 * port too, `listener_http.ts`): the socket
 * work (accepts, reads, framing, PROXY v2 headers, deadlines, the replies'
 * writes) runs in the Workers, each on the same port
 * (`Deno.listen({ reusePort: true })`, needing `--unstable-net`), while the
 * one `RequestHandler` stays on the main thread: tokens, limits, versions,
 * metrics, the fleet registry and code-update offers see every request once,
 * as in process. A Worker posts each tick's requests in one batch; here each
 * remote connection keeps one `RequestOrigin` (its `owner` for the queue's
 * fairness, its session and identity for the registry and the tokens), the
 * handler answers, and the replies go back in one batch per Worker per tick.
 * The limits are one set (`SharedBoardLimits`), so `--max-connections` stays
 * one cap. A failed or hung Worker is replaced in its place by
 * `_worker_replacement.ts`.
 *
 * @example
 * ```ts
 * import { ListenerWorkers } from "./listener_workers.ts";
 * import { RequestHandler } from "../core/handler.ts";
 * import { Logger } from "../log.ts";
 * import { Status, WireError } from "../../shared/errors.ts";
 *
 * const log = new Logger("error");
 * if ("listenDatagram" in Deno) { // run with --unstable-net
 *   const workers = await ListenerWorkers.start(2, {
 *     hostname: "127.0.0.1", port: 0, log,
 *     limits: { maxConnections: 100, maxConnectionsPerAddress: 100, maxBufferedBytes: 1 << 20,
 *       maxQueued: 64, minQueueShare: 16 },
 *     trustedProxies: null, maxFrame: 16 * 1024, maxLegacy: 64 * 1024, readTimeoutMs: 5_000,
 *     idleTimeoutMs: 60_000, writeTimeoutMs: 10_000, maxPipelined: 256,
 *   });
 *   workers.serve(new RequestHandler({
 *     route: () => new WireError(Status.MODEL_UNAVAILABLE, "this example serves no model"),
 *     stats: () => ({ version: 2, freq: 0, mode: 0, parameters: 0, served: 0, model: "" }),
 *     log,
 *   }));
 *   console.log(workers.addr.port > 0); // true
 *   await workers.shutdown(); // every Worker stops accepting, answers what it owes, and ends
 * }
 * ```
 * @module
 */
import type { RequestHandler } from "../core/handler.ts";
import { connectionSettings } from "../tcp/connection_settings.ts";
import type { ConnectionEvent } from "../tcp/limits.ts";
import type { FromListener, ListenerSettings } from "./listener_wire.ts";
import { LimitColumns } from "./limit_columns.ts";
import { ListenerLiveness } from "./listener_liveness.ts";
import {
  bindDeadlines,
  hasUnstableNet,
  type ListenerOptions,
  NEEDS_UNSTABLE_NET,
} from "./listener_options.ts";
import type { ListenerRestarts } from "./listener_restarts.ts";
import { SharedBoardLimits } from "./shared_limits.ts";
import type { WorkerLink } from "./worker_link.ts";
import { bindAll, type BindDeadlines } from "./worker_start.ts";
import type { StuckWorkers } from "./stuck_workers.ts";
import { WorkerReplacement } from "./_worker_replacement.ts";

/** The board port's listener Workers, and the main thread's half of their connections. */
export class ListenerWorkers {
  readonly addr: Deno.NetAddr;
  /** The TLS board port's address, when there is one. */
  readonly tlsAddr: Deno.NetAddr | null;
  /** The limits every Worker counts against. */
  readonly limits: SharedBoardLimits;
  /** Resolves once every Worker has drained and ended. */
  readonly finished: Promise<void>;
  /** Restarts of failed Workers: their count, their back-off. */
  readonly restarts: ListenerRestarts<WorkerLink>;
  /** The check that gives up hung Workers; null without `listenerTimeoutMs`. */
  readonly liveness: ListenerLiveness | null;
  /** Workers given up that could not be stopped and still run: the process needs a restart. */
  readonly stuck: StuckWorkers;
  /** Worker i serves as thread i + 1; a restarted one takes the failed one's place. */
  #links: WorkerLink[];
  #handler: RequestHandler | null = null;
  #onConnection: ((event: ConnectionEvent) => void) | undefined;
  /** Each Worker's end: drained, or failed. */
  #drained = new Map<WorkerLink, Promise<void>>();
  #ended!: () => void;
  #closing = false;
  #stopping: Promise<void> | null = null;
  /** Failed and hung Workers replaced in their places. */
  #replacement: WorkerReplacement;

  private constructor(
    links: WorkerLink[],
    settings: ListenerSettings,
    limits: SharedBoardLimits,
    options: ListenerOptions,
    failedInStart: Map<WorkerLink, string>,
    deadlines: BindDeadlines | undefined,
    columns: LimitColumns,
  ) {
    this.#links = links;
    const at = (port: number): Deno.NetAddr => ({
      transport: "tcp",
      hostname: options.hostname,
      port,
    });
    this.addr = at(settings.port);
    this.tlsAddr = settings.tls ? at(settings.tls.port) : null;
    this.limits = limits;
    this.#replacement = new WorkerReplacement({
      links,
      closing: () => this.#closing,
      servesRequests: () => this.#handler !== null,
      onRestart: () => this.onRestart,
      listen: (link) => this.#drained.set(link, this.#listen(link)),
      unlisten: (link) => this.#drained.delete(link),
    }, { log: options.log, limits, settings, columns, deadlines, workerUrl: options.workerUrl });
    this.stuck = this.#replacement.stuck;
    this.restarts = this.#replacement.restarts;
    const ms = options.listenerTimeoutMs;
    this.liveness = ms ? new ListenerLiveness(ms, this, options.log) : null;
    this.finished = new Promise((resolve) => this.#ended = resolve);
    for (const link of links) this.#drained.set(link, this.#listen(link));
    for (const [link, why] of failedInStart) this.lost(link, why);
  }

  /**
   * Starts `count` Workers and binds each to the port (the first picks it when
   * `port` is 0); they accept once `serve` is called. Throws the bind's error
   * (`Deno.errors.AddrInUse`, say), a `ListenerStartError` for a Worker that
   * failed, ended or did not answer in time, or an `Error` when
   * `--unstable-net` is missing.
   * One that fails after its bind is `lost` as it would be later: started again in its place.
   */
  static async start(count: number, options: ListenerOptions): Promise<ListenerWorkers> {
    if (!hasUnstableNet()) throw new Error(NEEDS_UNSTABLE_NET);
    const columns = new LimitColumns(count);
    const limits = SharedBoardLimits.create(options.limits, columns.count);
    const settings: ListenerSettings = {
      hostname: options.hostname,
      port: options.port,
      limits: limits.buffer,
      limitOptions: options.limits,
      thread: 0,
      tls: options.tls
        ? { port: options.tls.port, cert: options.tls.cert, key: options.tls.key }
        : null,
      trustedProxies: options.trustedProxies ? [...options.trustedProxies.ranges] : null,
      ...connectionSettings(options),
      logLevel: options.log.level,
      logFormat: options.log.logFormat,
    };
    // One failing after its bind, while the next ones bind, fails as one failing later would.
    const deadlines = bindDeadlines(options);
    const { links, failedInStart } = await bindAll(count, settings, limits, {
      ...options,
      deadlines,
    });
    return new ListenerWorkers(links, settings, limits, options, failedInStart, deadlines, columns);
  }

  /** Board connections being served now, by every Worker. */
  get open(): number {
    return this.limits.open;
  }

  /** How many connections each Worker has served (that sent a message): the kernel's spreading. */
  get connectionsPerListener(): number[] {
    return this.#links.map((link) => link.seen);
  }

  /** The Workers' links, in order (the HTTP port's half talks to them: `listener_http.ts`). */
  get links(): readonly WorkerLink[] {
    return this.#links;
  }

  /** Workers serving now: 0 while every one has failed and their restarts are pending. */
  get serving(): number {
    return this.#links.reduce((n, link) => link.ended ? n : n + 1, 0);
  }

  /** Called with the messages the board port's half does not read (the HTTP port's). */
  onMessage: ((link: WorkerLink, message: FromListener) => void) | null = null;

  /**
   * Called with a restarted Worker once it listens on the board ports and
   * before it serves (the HTTP port's half binds the HTTP port on it); a
   * throw fails this attempt, and the restart tries again.
   */
  onRestart: ((link: WorkerLink) => Promise<void>) | null = null;

  /** Starts accepting: every request goes to `handler`; connection events to `onConnection`. */
  serve(handler: RequestHandler, onConnection?: (event: ConnectionEvent) => void): void {
    this.#handler = handler;
    this.#onConnection = onConnection;
    for (const link of this.#links) link.send({ type: "serve" });
    this.liveness?.start();
  }

  /** Every Worker stops accepting, answers what its connections are owed, closes them and ends. */
  shutdown(): Promise<void> {
    this.#closing = true;
    this.liveness?.stop();
    this.stuck.stop();
    this.#stopping ??= (async () => {
      // No Worker is restarted any more; one binding now never serves.
      await this.#replacement.stop();
      for (const link of this.#links) link.send({ type: "drain" });
      await Promise.all(this.#links.map((link) => this.#drained.get(link)));
      for (const link of this.#links) {
        link.worker.terminate();
        // A drained Worker closed its connections: nothing is left, unless it failed while draining.
        this.limits.release(link.column);
      }
      this.#ended();
    })();
    return this.#stopping;
  }

  /**
   * A Worker has ended without draining (an uncaught error in it, or
   * `terminate()`): given up, and one started in its place unless the
   * Workers are stopping (`WorkerReplacement.lost`).
   */
  lost(link: WorkerLink, why: string): void {
    this.#replacement.lost(link, why);
  }

  /** Starts a Worker in a hung one's place (`ListenerLiveness`; `WorkerReplacement.replace`). */
  replace(link: WorkerLink, why: string, release: boolean): void {
    this.#replacement.replace(link, why, release);
  }

  /** Serves a Worker's messages; resolves when it has drained (or ended without). */
  #listen(link: WorkerLink): Promise<void> {
    let resolveDrained!: () => void;
    const drained = new Promise<void>((resolve) => resolveDrained = resolve);
    link.worker.onmessage = (event: MessageEvent<FromListener>) => {
      link.signs++;
      const message = event.data;
      if (message.type === "batch") link.serveBatch(message, this.#handler!, this.#onConnection);
      else if (message.type === "drained") resolveDrained();
      else this.onMessage?.(link, message);
    };
    link.worker.onerror = (event) => {
      event.preventDefault();
      this.lost(link, event.message);
    };
    return Promise.race([drained, link.failed.then(() => {})]);
  }
}
