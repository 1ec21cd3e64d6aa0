/**
 * The main thread's half of one listener Worker (`--listeners N`): the
 * remote connections it serves, each with one `RequestOrigin` (a session,
 * an identity the authorizer remembers a proved token on, a share of the
 * queue), each batch of requests handed to the one `RequestHandler`, and the
 * replies gathered into one message per tick. `ListenerWorkers` owns one per
 * Worker; `bind` asks a Worker to listen, `bindAll` starts and binds them all.
 *
 * @example
 * ```ts
 * import { WorkerLink } from "./worker_link.ts";
 * import { SharedBoardLimits } from "./shared_limits.ts";
 * import { Logger } from "../log.ts";
 *
 * const worker = new Worker(new URL("./listener_worker.ts", import.meta.url), { type: "module" });
 * const limits = SharedBoardLimits.create({ maxConnections: 10, maxConnectionsPerAddress: 10,
 *   maxBufferedBytes: 1 << 20, maxQueued: 64, minQueueShare: 16 }, 2);
 * const link = new WorkerLink(worker, 1, limits, new Logger("error"));
 * console.log(link.seen); // 0: no connection yet
 * worker.terminate();
 * ```
 * @module
 */
import { WireError } from "../../shared/errors.ts";
import type { RequestHandler } from "../core/handler.ts";
import type { Outcome, RequestOrigin } from "../core/request.ts";
import type { Logger } from "../log.ts";
import { TlsError } from "../tls/tls.ts";
import type { ConnectionEvent, QueueShare } from "../tcp/limits.ts";
import {
  type FromListener,
  type ListenerBatch,
  type ListenerSettings,
  type OriginNote,
  Packer,
  type ToListener,
  unpack,
} from "./listener_wire.ts";
import type { Held, SharedBoardLimits } from "./shared_limits.ts";

/** One remote connection as the main thread knows it. */
interface RemoteConnection {
  origin: RequestOrigin;
  session: { device: string; client: string };
  /** Its digits in the queue, against its share. */
  share: QueueShare;
}

/** One listener Worker: its connections, and the replies gathered for it this tick. */
export class WorkerLink {
  readonly worker: Worker;
  readonly connections = new Map<number, RemoteConnection>();
  /** Connections this Worker has forwarded requests or refusals for since start. */
  seen = 0;
  /** Messages received from the Worker: each is a sign of life (`listener_liveness.ts`). */
  signs = 0;
  /** Its place among the Workers (1 and up; 0 is the main thread's): a restarted one takes it. */
  readonly thread: number;
  /**
   * Its column in the shared limits: its place's, unless that was given to the
   * replacement of a Worker that ran on (`ListenerWorkers`), whose column stays its own.
   */
  readonly column: number;
  /** The Web Lock the Worker holds from `listening` until it has stopped (`stopped`). */
  readonly lifeLock = `mnist-listener-${crypto.randomUUID()}`;
  /** Resolves with the sentence of why once the Worker has ended without draining (`fail`). */
  readonly failed: Promise<string>;
  #failed!: (message: string) => void;
  #ended = false;
  #replies = new Packer();
  #scheduled = false;
  #flush = () => this.flush();
  /** A forwarded request's outcome, by its number in the Worker (bound once: no object per request). */
  #answered = (seq: number, outcome: Outcome) => this.reply(seq, outcome);
  #limits: SharedBoardLimits;
  #log: Logger;

  constructor(
    worker: Worker,
    thread: number,
    limits: SharedBoardLimits,
    log: Logger,
    column = thread,
  ) {
    this.worker = worker;
    this.thread = thread;
    this.column = column;
    this.#limits = limits;
    this.#log = log;
    this.failed = new Promise((resolve) => this.#failed = resolve);
  }

  /** Whether the Worker has ended without draining: nothing sent to it is read. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * The Worker has ended without draining (an uncaught error, `terminate()`):
   * its connections are gone, so what they held in the shared limits is given
   * back and the main thread forgets them (their digits still queued run, and
   * release their shares; the answers are dropped); whatever waits for its
   * answer stops waiting. What they held, for the log. With `release`
   * false (a Worker that may still run) the limits are left as they are:
   * `ListenerWorkers.hung` gives them back later.
   */
  fail(message: string, release = true): Held {
    if (!this.#ended) {
      this.#ended = true;
      this.connections.clear();
      this.#replies.take();
      this.#failed(message);
    }
    return release ? this.#limits.release(this.column) : this.#limits.held(this.column);
  }

  /**
   * Resolves true once the Worker, which answered `listening` or a start's
   * first ping (it holds its life lock then), has truly stopped (its thread
   * ended: its life lock is granted here), false when `signal` aborts first.
   */
  stopped(signal: AbortSignal): Promise<boolean> {
    return webLocks().request(this.lifeLock, { signal }, () => true).catch(() => false);
  }

  send(message: ToListener, transfer: ArrayBuffer[] = []): void {
    if (!this.#ended) this.worker.postMessage(message, transfer);
  }

  reply(seq: number, outcome: Outcome): void {
    if (this.#ended) return;
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

  /** One tick of the Worker's connections, told to `handler` (events to `onConnection`). */
  serveBatch(
    batch: ListenerBatch,
    handler: RequestHandler,
    onConnection: ((event: ConnectionEvent) => void) | undefined,
  ): void {
    // A batch posted just before the Worker ended: its connections are gone.
    if (this.#ended) return;
    if (batch.origins) { for (const note of batch.origins) this.#origin(note, onConnection); }
    if (batch.refusals) {
      for (const note of batch.refusals) {
        const remote = this.connections.get(note.connection);
        // Observed (logged, counted) as in process; the Worker wrote the reply.
        if (remote) {
          handler.refuse(new WireError(note.status, note.message), remote.origin, note.requestId);
        }
      }
    }
    if (batch.buffer) {
      // The batch's requests arrived together: one clock read for them all.
      const arrived = performance.now();
      unpack(batch.buffer, batch.length, (connection, seq, message) => {
        const remote = this.connections.get(connection)!;
        handler.handleWith(message, remote.origin, this.#answered, seq, arrived);
      });
    }
    if (batch.events && onConnection) {
      for (const event of batch.events) onConnection(event);
    }
    if (batch.closed) { for (const id of batch.closed) this.connections.delete(id); }
  }

  /** A connection's new or changed origin: a new identity, the same session and owner. */
  #origin(note: OriginNote, onConnection: ((event: ConnectionEvent) => void) | undefined): void {
    let remote = this.connections.get(note.connection);
    if (!remote) {
      remote = {
        origin: null!,
        session: { device: "", client: "" },
        share: this.#limits.queueShare(),
      };
      this.connections.set(note.connection, remote);
      this.seen++;
    }
    const share = remote.share;
    const peer = note.peer;
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

/** The part of the Web Locks API used here: Deno has it, its types are in the DOM library only. */
interface WebLocks {
  request<T>(name: string, granted: () => T): Promise<Awaited<T>>;
  request<T>(name: string, options: { signal: AbortSignal }, granted: () => T): Promise<Awaited<T>>;
}

/** `navigator.locks`, process-wide: a lock a Worker holds is granted to another once it has stopped. */
export function webLocks(): WebLocks {
  return (navigator as unknown as { locks: WebLocks }).locks;
}

/** An error a Worker posted (its name and message), as the class it had there. */
export function workerError(name: string, message: string): Error {
  const errors = Deno.errors as unknown as Record<string, ErrorConstructor>;
  const kind = name === "TlsError" ? TlsError : errors[name] ?? Error;
  return new kind(message);
}

/**
 * How long a Worker given up is waited for to stop after `terminate()`, ms:
 * one that comes back to its event loop stops there within milliseconds; a
 * second is short beside the limit it was silent for. Deno's `terminate()`
 * does not interrupt synchronous JavaScript: one looping goes on, its
 * sockets open.
 */
export const STOP_WAIT_MS = 1_000;

/**
 * A listener Worker that could not start: it failed, ended, or did not
 * answer in time. Its message is the sentence the server's start fails with
 * (`deno task serve` prints it alone).
 */
export class ListenerStartError extends Error {}

/**
 * A bind's Worker, given up, that has not stopped within `STOP_WAIT_MS`: it
 * goes on, its sockets open, so its column keeps its counts and no other
 * Worker is started on it (each would join it).
 */
export class StuckWorkerError extends ListenerStartError {}

/**
 * How long a new listener Worker may take to load its code before it is
 * given up, ms (`BindDeadlines.startMs`; not an option of the server): a
 * cold start on a busy machine takes seconds, not this.
 */
export const LISTENER_START_TIMEOUT_MS = 30_000;

/**
 * The sentence a bind fails with when its Worker has not answered within
 * `ms`: its bind (`--listener-timeout-ms`), or, `loading`, the ping that
 * says its code has loaded (`LISTENER_START_TIMEOUT_MS`).
 */
export function silentAtStart(ms: number, loading = false): string {
  return loading
    ? `a listener Worker did not load its code within ${ms} ms`
    : `a listener Worker did not answer within ${ms} ms while it started (--listener-timeout-ms)`;
}

/** How long a bind waits for its Worker, ms. */
export interface BindDeadlines {
  /** For its first answer: a new Worker loads its code first (`LISTENER_START_TIMEOUT_MS`). */
  startMs: number;
  /** Then, its event loop running, for the bind's answer (`--listener-timeout-ms`). */
  silentMs: number;
}

/**
 * Binds one Worker; its ports, or the bind's error rethrown here. With
 * `deadlines`, a Worker that does not answer (a ping sent ahead of the bind:
 * its code loaded, then the bind itself) in time is terminated and the bind
 * fails with `silentAtStart`: a start-up stuck for good fails the start, or
 * the restart's attempt, instead of waiting for ever (the liveness check
 * watches only Workers that serve). One that answered the ping, and so holds
 * its life lock, is waited for to stop; one that has not stopped within
 * `STOP_WAIT_MS` fails it with a `StuckWorkerError`.
 */
export async function bind(
  link: WorkerLink,
  settings: ListenerSettings,
  deadlines?: BindDeadlines,
): Promise<{ port: number; tlsPort: number | null }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise((resolve, reject) => {
      const giveUpAfter = (ms: number, loading: boolean) => {
        clearTimeout(timer);
        timer = setTimeout(async () => {
          link.worker.terminate();
          const why = silentAtStart(ms, loading);
          // Past its first answer it holds its life lock: whether it stopped can be told.
          if (!loading && !(await link.stopped(AbortSignal.timeout(STOP_WAIT_MS)))) {
            reject(new StuckWorkerError(`${why}; it did not stop: restart the process`));
          }
          reject(new ListenerStartError(why));
        }, ms);
      };
      link.worker.onmessage = (event: MessageEvent<FromListener>) => {
        const message = event.data;
        if (message.type === "listening") resolve(message);
        else if (message.type === "failed") reject(workerError(message.name, message.message));
        else if (message.type === "pong" && deadlines) giveUpAfter(deadlines.silentMs, false);
      };
      link.worker.onerror = (event) => {
        event.preventDefault();
        reject(new ListenerStartError(`a listener Worker failed to start: ${event.message}`));
      };
      // Ended meanwhile (the Workers stopping): no answer will come.
      link.failed.then((message) =>
        reject(new ListenerStartError(`a listener Worker ended: ${message}`))
      );
      if (deadlines) {
        giveUpAfter(deadlines.startMs, true);
        link.send({ type: "ping", lifeLock: link.lifeLock });
      }
      link.send({ type: "listen", settings, lifeLock: link.lifeLock });
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts `count` Workers as threads 1 to `count` and binds each in turn: the
 * first binds the ports `settings` asks for (`settings` then holds the ports
 * bound), the others join them. Throws the first bind's error (one past its
 * `deadlines` included), every Worker ended. One that fails after its bind,
 * while the next ones bind, is not lost in silence: its error is in
 * `failedInStart`, for `ListenerWorkers.lost`.
 */
export async function bindAll(
  count: number,
  settings: ListenerSettings,
  limits: SharedBoardLimits,
  options: { log: Logger; workerUrl?: URL; deadlines?: BindDeadlines },
): Promise<{ links: WorkerLink[]; failedInStart: Map<WorkerLink, string> }> {
  const links: WorkerLink[] = [];
  const failedInStart = new Map<WorkerLink, string>();
  try {
    for (let thread = 1; thread <= count; thread++) {
      const link = spawn(thread, limits, options.log, options.workerUrl);
      links.push(link);
      const bound = await bind(link, { ...settings, thread: link.column }, options.deadlines);
      link.worker.onerror = (event) => {
        event.preventDefault();
        failedInStart.set(link, event.message);
      };
      settings.port = bound.port;
      if (settings.tls) settings.tls.port = bound.tlsPort!;
    }
  } catch (e) {
    for (const link of links) link.worker.terminate();
    throw e;
  }
  return { links, failedInStart };
}

/**
 * A new listener Worker (`url`: `listener_worker.ts` when absent) in place
 * `thread`, counting in `column` of `limits` (its place's by default); it waits for `listen`.
 */
export function spawn(
  thread: number,
  limits: SharedBoardLimits,
  log: Logger,
  url = new URL("./listener_worker.ts", import.meta.url),
  column = thread,
): WorkerLink {
  const worker = new Worker(url, { type: "module", name: `listener-${thread}` });
  return new WorkerLink(worker, thread, limits, log, column);
}
