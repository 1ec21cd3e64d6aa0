/**
 * The main thread's half of one listener Worker (`--listeners N`): the
 * remote connections it serves, each with one `RequestOrigin` (a session,
 * an identity the authorizer remembers a proved token on, a share of the
 * queue), each batch of requests handed to the one `RequestHandler`, and the
 * replies gathered into one message per tick. `ListenerWorkers` owns one per
 * Worker; `worker_start.ts` starts a Worker and binds it.
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
import type { ConnectionEvent, QueueShare } from "../tcp/limits.ts";
import {
  type ListenerBatch,
  type OriginNote,
  Packer,
  type ToListener,
  unpack,
} from "./listener_wire.ts";
import type { Held, SharedBoardLimits } from "./shared_limits.ts";
import { webLocks } from "./web_locks.ts";

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
   * `ListenerWorkers.replace` gives them back once it stops.
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
          handler.refuse(new WireError(note.status, note.message), remote.origin, {
            requestId: note.requestId,
          });
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
