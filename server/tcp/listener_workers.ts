/**
 * The board port served by N listener Workers (`--listeners N`): the socket
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
import { WireError } from "../../shared/errors.ts";
import type { RequestHandler } from "../core/handler.ts";
import type { Outcome, RequestOrigin } from "../core/request.ts";
import type { AddressRanges } from "../auth/cidr.ts";
import type { Logger } from "../log.ts";
import type { ConnectionEvent, LimitOptions, QueueShare } from "./limits.ts";
import {
  type FromListener,
  type ListenerBatch,
  type ListenerSettings,
  type OriginNote,
  Packer,
  type ToListener,
  unpack,
} from "./listener_wire.ts";
import { SharedBoardLimits } from "./shared_limits.ts";

/** What the listener Workers are started with: the board port's connection settings. */
export interface ListenerOptions {
  hostname: string;
  port: number;
  log: Logger;
  limits: LimitOptions;
  trustedProxies: AddressRanges | null;
  maxFrame: number;
  maxLegacy: number;
  readTimeoutMs: number;
  idleTimeoutMs: number;
  writeTimeoutMs: number;
  maxPipelined: number;
}

/** The sentence `--listeners` above 1 fails with when Deno runs without `--unstable-net`. */
export const NEEDS_UNSTABLE_NET =
  "--listeners above 1 needs Deno's --unstable-net flag (deno run --unstable-net ...), for reusePort";

/** Whether this Deno runs with `--unstable-net` (which `reusePort` needs). */
export function hasUnstableNet(): boolean {
  return "listenDatagram" in Deno;
}

/** One remote connection as the main thread knows it. */
interface RemoteConnection {
  origin: RequestOrigin;
  session: { device: string; client: string };
  /** Its digits in the queue, against its share. */
  share: QueueShare;
}

/** A request forwarded from a Worker, waiting for its outcome. */
interface Forwarded {
  link: WorkerLink;
  seq: number;
}

/** One listener Worker: its connections, and the replies gathered for it this tick. */
class WorkerLink {
  readonly worker: Worker;
  readonly connections = new Map<number, RemoteConnection>();
  /** Connections this Worker has forwarded requests or refusals for since start. */
  seen = 0;
  #replies = new Packer();
  #scheduled = false;
  #flush = () => this.flush();

  constructor(worker: Worker) {
    this.worker = worker;
  }

  send(message: ToListener, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  reply(seq: number, outcome: Outcome): void {
    this.#replies.add(seq, 0, outcome.bytes);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#flush);
  }

  flush(): void {
    this.#scheduled = false;
    const packed = this.#replies.take();
    if (packed) this.send({ type: "replies", ...packed }, [packed.buffer]);
  }
}

/** The board port's listener Workers, and the main thread's half of their connections. */
export class ListenerWorkers {
  readonly addr: Deno.NetAddr;
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
    addr: Deno.NetAddr,
    limits: SharedBoardLimits,
    log: Logger,
  ) {
    this.#links = links;
    this.addr = addr;
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
    const limits = SharedBoardLimits.create(options.limits);
    const settings: ListenerSettings = {
      hostname: options.hostname,
      port: options.port,
      limits: limits.buffer,
      limitOptions: options.limits,
      trustedProxies: options.trustedProxies ? [...options.trustedProxies.ranges] : null,
      maxFrame: options.maxFrame,
      maxLegacy: options.maxLegacy,
      readTimeoutMs: options.readTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      writeTimeoutMs: options.writeTimeoutMs,
      maxPipelined: options.maxPipelined,
      logLevel: options.log.level,
      logFormat: options.log.logFormat,
    };
    const links: WorkerLink[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const worker = new Worker(new URL("./listener_worker.ts", import.meta.url), {
          type: "module",
          name: `board-listener-${i + 1}`,
        });
        const link = new WorkerLink(worker);
        links.push(link);
        // The first binds the port asked for; the others join it.
        settings.port = await bind(link, settings);
      }
    } catch (e) {
      for (const link of links) link.worker.terminate();
      throw e;
    }
    const addr: Deno.NetAddr = {
      transport: "tcp",
      hostname: options.hostname,
      port: settings.port,
    };
    return new ListenerWorkers(links, addr, limits, options.log);
  }

  /** Board connections being served now, by every Worker. */
  get open(): number {
    return this.limits.open;
  }

  /** How many connections each Worker has served (that sent a message): the kernel's spreading. */
  get connectionsPerListener(): number[] {
    return this.#links.map((link) => link.seen);
  }

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
      for (const link of this.#links) link.worker.terminate();
      this.#ended();
    })();
    return this.#stopping;
  }

  /** Serves a Worker's messages; resolves when it has drained (or failed). */
  #listen(link: WorkerLink): Promise<void> {
    return new Promise((resolve) => {
      link.worker.onmessage = (event: MessageEvent<FromListener>) => {
        const message = event.data;
        if (message.type === "batch") this.#batch(link, message);
        else if (message.type === "drained") resolve();
      };
      link.worker.onerror = (event) => {
        event.preventDefault();
        this.#log.error("a board listener Worker failed", { error: event.message });
        resolve();
      };
    });
  }

  /** One tick of a Worker's connections. */
  #batch(link: WorkerLink, batch: ListenerBatch): void {
    const handler = this.#handler!;
    if (batch.origins) { for (const note of batch.origins) this.#origin(link, note); }
    if (batch.refusals) {
      for (const note of batch.refusals) {
        const remote = link.connections.get(note.connection);
        // Observed (logged, counted) as in process; the Worker wrote the reply.
        if (remote) {
          handler.refuse(new WireError(note.status, note.message), remote.origin, note.requestId);
        }
      }
    }
    if (batch.buffer) {
      unpack(batch.buffer, batch.length, (connection, seq, message) => {
        const remote = link.connections.get(connection)!;
        handler.handleWith(message, remote.origin, answered, { link, seq });
      });
    }
    if (batch.events && this.#onConnection) {
      for (const event of batch.events) this.#onConnection(event);
    }
    if (batch.closed) { for (const id of batch.closed) link.connections.delete(id); }
  }

  /** A connection's new or changed origin: a new identity, the same session and owner. */
  #origin(link: WorkerLink, note: OriginNote): void {
    let remote = link.connections.get(note.connection);
    if (!remote) {
      remote = {
        origin: null!,
        session: { device: "", client: "" },
        share: this.limits.queueShare(),
      };
      link.connections.set(note.connection, remote);
      link.seen++;
    }
    const share = remote.share;
    const peer = note.peer;
    const onConnection = this.#onConnection;
    const log = this.#log;
    remote.origin = {
      protocol: note.protocol,
      peer,
      identity: { address: note.host, protocol: note.protocol },
      session: remote.session,
      owner: remote,
      admit: () => {
        const refused = share.admit();
        if (refused) {
          log.debug("connection limited", { peer, reason: "queue-share" });
          onConnection?.({ reason: "queue-share", peer });
        }
        return refused;
      },
      release: () => share.release(),
    };
  }
}

/** Tells a forwarded request's Worker its outcome (a function, not a closure per request). */
function answered(forwarded: Forwarded, outcome: Outcome): void {
  forwarded.link.reply(forwarded.seq, outcome);
}

/** Binds one Worker; its port, or the bind's error rethrown here. */
function bind(link: WorkerLink, settings: ListenerSettings): Promise<number> {
  return new Promise((resolve, reject) => {
    link.worker.onmessage = (event: MessageEvent<FromListener>) => {
      const message = event.data;
      if (message.type === "listening") resolve(message.port);
      else if (message.type === "failed") {
        const errors = Deno.errors as unknown as Record<string, ErrorConstructor>;
        reject(new (errors[message.name] ?? Error)(message.message));
      }
    };
    link.worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`a board listener Worker failed to start: ${event.message}`));
    };
    link.send({ type: "listen", settings });
  });
}
