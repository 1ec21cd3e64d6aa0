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
 * one cap.
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
import type { AddressRanges } from "../auth/cidr.ts";
import type { Logger } from "../log.ts";
import type { TlsFiles } from "../tls/tls.ts";
import { type ConnectionSettings, connectionSettings } from "../tcp/connection_settings.ts";
import type { ConnectionEvent, LimitOptions } from "../tcp/limits.ts";
import type { FromListener, ListenerSettings } from "./listener_wire.ts";
import { SharedBoardLimits } from "./shared_limits.ts";
import { bind, WorkerLink } from "./worker_link.ts";

/** What the listener Workers are started with: the board port's connection settings. */
export interface ListenerOptions extends ConnectionSettings {
  hostname: string;
  port: number;
  log: Logger;
  limits: LimitOptions;
  trustedProxies: AddressRanges | null;
  /** The TLS board port (`--tls-port`), served by the Workers too; absent: none. */
  tls?: TlsFiles & { port: number };
}

/** The sentence `--listeners` above 1 fails with when Deno runs without `--unstable-net`. */
export const NEEDS_UNSTABLE_NET =
  "--listeners above 1 needs Deno's --unstable-net flag (deno run --unstable-net ...), for reusePort";

/** Whether this Deno runs with `--unstable-net` (which `reusePort` needs). */
export function hasUnstableNet(): boolean {
  return "listenDatagram" in Deno;
}

/** The board port's listener Workers, and the main thread's half of their connections. */
export class ListenerWorkers {
  readonly addr: Deno.NetAddr;
  /** The TLS board port's address, when there is one. */
  readonly tlsAddr: Deno.NetAddr | null;
  /** The limits every Worker counts against. */
  readonly limits: SharedBoardLimits;
  /** Resolves once every Worker has drained and ended. */
  readonly finished: Promise<void>;
  #links: WorkerLink[];
  #log: Logger;
  #handler: RequestHandler | null = null;
  #onConnection: ((event: ConnectionEvent) => void) | undefined;
  #drained: Promise<void>[] = [];
  #ended!: () => void;
  #stopping: Promise<void> | null = null;

  private constructor(
    links: WorkerLink[],
    addrs: [Deno.NetAddr, Deno.NetAddr | null],
    limits: SharedBoardLimits,
    log: Logger,
  ) {
    this.#links = links;
    [this.addr, this.tlsAddr] = addrs;
    this.limits = limits;
    this.#log = log;
    this.finished = new Promise((resolve) => this.#ended = resolve);
    for (const link of links) this.#drained.push(this.#listen(link));
  }

  /**
   * Starts `count` Workers and binds each to the port (the first picks it when
   * `port` is 0); they accept once `serve` is called. Throws the bind's error
   * (`Deno.errors.AddrInUse`, say), or an `Error` when `--unstable-net` is missing.
   */
  static async start(count: number, options: ListenerOptions): Promise<ListenerWorkers> {
    if (!hasUnstableNet()) throw new Error(NEEDS_UNSTABLE_NET);
    // Thread 0 is the main thread's; Worker i counts as thread i + 1.
    const limits = SharedBoardLimits.create(options.limits, count + 1);
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
    const links: WorkerLink[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const worker = new Worker(new URL("./listener_worker.ts", import.meta.url), {
          type: "module",
          name: `listener-${i + 1}`,
        });
        const link = new WorkerLink(worker, i + 1, limits, options.log);
        links.push(link);
        // The first binds the ports asked for; the others join them.
        const bound = await bind(link, { ...settings, thread: link.thread });
        settings.port = bound.port;
        if (settings.tls) settings.tls.port = bound.tlsPort!;
      }
    } catch (e) {
      for (const link of links) link.worker.terminate();
      throw e;
    }
    const at = (port: number): Deno.NetAddr => ({
      transport: "tcp",
      hostname: options.hostname,
      port,
    });
    const addrs: [Deno.NetAddr, Deno.NetAddr | null] = [
      at(settings.port),
      settings.tls ? at(settings.tls.port) : null,
    ];
    return new ListenerWorkers(links, addrs, limits, options.log);
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

  /** Called with the messages the board port's half does not read (the HTTP port's). */
  onMessage: ((link: WorkerLink, message: FromListener) => void) | null = null;

  /** Starts accepting: every request goes to `handler`; connection events to `onConnection`. */
  serve(handler: RequestHandler, onConnection?: (event: ConnectionEvent) => void): void {
    this.#handler = handler;
    this.#onConnection = onConnection;
    for (const link of this.#links) link.send({ type: "serve" });
  }

  /** Every Worker stops accepting, answers what its connections are owed, closes them and ends. */
  shutdown(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const link of this.#links) link.send({ type: "drain" });
      await Promise.all(this.#drained);
      for (const link of this.#links) {
        link.worker.terminate();
        // A drained Worker closed its connections: nothing is left, unless it failed while draining.
        this.limits.release(link.thread);
      }
      this.#ended();
    })();
    return this.#stopping;
  }

  /**
   * A Worker has ended without draining (an uncaught error in it, or
   * `terminate()`): the server goes on with the others. What its connections
   * held in the limits is given back, and nothing waits for it any more.
   */
  lost(link: WorkerLink, why: string): void {
    if (link.ended) return;
    // Ended already after an uncaught error; terminated here so that it surely runs no more.
    link.worker.terminate();
    const held = link.fail(why);
    this.#log.error("a listener Worker failed", { error: why, ...held });
  }

  /** Serves a Worker's messages; resolves when it has drained (or ended without). */
  #listen(link: WorkerLink): Promise<void> {
    let resolveDrained!: () => void;
    const drained = new Promise<void>((resolve) => resolveDrained = resolve);
    link.worker.onmessage = (event: MessageEvent<FromListener>) => {
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
