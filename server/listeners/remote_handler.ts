/**
 * The handler a listener Worker's connections call (`--listeners N`): it has
 * the two methods a `Connection` uses, `handleWith` and `refuse`, and answers
 * them by way of the main thread, where the one `RequestHandler` runs.
 * Every request its connections read in one tick goes in one batch (the
 * message bytes packed into one transferable buffer, with a sequence number
 * each); the main thread's replies come back the same way and fill the
 * connections' reply slots. An error the Worker decides itself (a bad frame,
 * a read timeout, a connection over a cap) is encoded here at once, and
 * noted in the batch so the main thread observes it as it would in process.
 *
 * @example
 * ```ts
 * import { RemoteHandler } from "./remote_handler.ts";
 * import type { ListenerBatch } from "./listener_wire.ts";
 * import { Status, WireError } from "../../shared/errors.ts";
 *
 * const batches: ListenerBatch[] = [];
 * const handler = new RemoteHandler((batch) => batches.push(batch));
 * const origin = { protocol: "framed" as const, peer: "10.0.0.7:5123", owner: {} };
 * const outcome = handler.refuse(new WireError(Status.MALFORMED_BUFFER, "bad frame"), origin, { requestId: 9 });
 * console.log(outcome.bytes.length > 0); // true: the framed error reply, written by the Worker
 * handler.flush();
 * console.log(batches[0].refusals?.[0].message); // bad frame
 * ```
 * @module
 */
import { Command } from "../../shared/codec.ts";
import { encodeReply, type Reply } from "../../shared/reply_codec.ts";
import type { WireError } from "../../shared/errors.ts";
import type { Outcome, OutcomeCallback, RequestOrigin } from "../core/request.ts";
import type { RefusedRead } from "../core/refusal.ts";
import type { ConnectionHandler } from "../tcp/answering_connection.ts";
import { type BoardLimits, type ConnectionEvent, QueueShare } from "../tcp/limits.ts";
import {
  type ListenerBatch,
  type OriginNote,
  Packer,
  type RefusalNote,
  unpack,
} from "./listener_wire.ts";

/** What a forwarded reply's `Outcome` says: a connection writes only its bytes. */
const FORWARDED: Reply = { command: Command.ERROR };

/**
 * A Worker connection's share of the queue, as the Worker sees it: the queue
 * is on the main thread, which admits each digit against the connection's
 * share there; here the requests sent and not yet answered stand for the
 * digits queued (a few more: replies on their way count too), against the
 * share size of the shared count of busy connections, so that a connection
 * with its share waiting is not read until it is under it.
 */
export class RemoteShare extends QueueShare {
  #limits: BoardLimits;
  #waiting = 0;
  #waiters: (() => void)[] = [];

  constructor(limits: BoardLimits) {
    super(limits);
    this.#limits = limits;
  }

  override get queued(): number {
    return this.#waiting;
  }

  override get full(): boolean {
    // Counted among the busy connections: the main thread may not have admitted its digits yet
    // (when it has, this counts it twice: a share a little smaller, never a larger one).
    return this.#waiting >= this.#limits.shareSize(true);
  }

  override whenUnder(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** A request went to the main thread. */
  sent(): void {
    this.#waiting++;
  }

  /** Its reply came back. */
  answered(): void {
    this.#waiting--;
    if (this.#waiters.length > 0 && !this.full) {
      for (const resolve of this.#waiters.splice(0)) resolve();
    }
  }
}

/** One connection as the main thread knows it. */
interface Remote {
  id: number;
  /** The origin last described to the main thread (a connection makes a new one when it learns more). */
  origin: RequestOrigin;
}

/** A `Connection`'s handler in a listener Worker: forwards to the main thread in batches. */
export class RemoteHandler implements ConnectionHandler {
  #post: (batch: ListenerBatch, transfer: ArrayBuffer[]) => void;
  #remotes = new Map<unknown, Remote>();
  /** Each connection's share of the queue, made when it starts. */
  #shares = new Map<unknown, RemoteShare>();
  #nextId = 1;
  #requests = new Packer();
  #origins: OriginNote[] = [];
  #refusals: RefusalNote[] = [];
  #events: ConnectionEvent[] = [];
  #closed: number[] = [];
  #scheduled = false;
  /** Requests waiting for a reply, by sequence number: who is told, with what. */
  #dones: (OutcomeCallback<unknown> | null)[] = [];
  #contexts: unknown[] = [];
  #seqShares: (RemoteShare | null)[] = [];
  #free: number[] = [];
  #waiting = 0;

  constructor(post: (batch: ListenerBatch, transfer: ArrayBuffer[]) => void) {
    this.#post = post;
  }

  /** Requests sent to the main thread and not answered yet. */
  get waiting(): number {
    return this.#waiting;
  }

  handleWith<C>(
    message: Uint8Array,
    origin: RequestOrigin,
    done: OutcomeCallback<C>,
    context: C,
  ): void {
    const id = this.#remote(origin);
    const seq = this.#free.pop() ?? this.#dones.length;
    this.#dones[seq] = done as OutcomeCallback<unknown>;
    this.#contexts[seq] = context;
    const share = this.#shares.get(origin.owner) ?? null;
    share?.sent();
    this.#seqShares[seq] = share;
    this.#waiting++;
    this.#requests.add(id, seq, message);
    this.#schedule();
  }

  refuse(error: WireError, origin: RequestOrigin, read: RefusedRead = {}): Outcome {
    const requestId = read.requestId ?? 0;
    const reply: Reply = {
      command: Command.ERROR,
      requestId,
      status: error.status,
      error: error.message,
    };
    this.#refusals.push({
      connection: this.#remote(origin),
      status: error.status,
      message: error.message,
      requestId,
    });
    this.#schedule();
    return { reply, results: null, bytes: encodeReply(reply, origin.protocol === "framed") };
  }

  /** A connection event (`onConnection`), told to the main thread's observer. */
  event(event: ConnectionEvent): void {
    this.#events.push(event);
    this.#schedule();
  }

  /** A new connection's share of the queue (`queueShare(owner)` of the Worker's limits). */
  shareOf(owner: unknown, limits: BoardLimits): RemoteShare {
    const share = new RemoteShare(limits);
    this.#shares.set(owner, share);
    return share;
  }

  /** A connection ended: the main thread forgets it (its replies were all written first). */
  closed(owner: unknown): void {
    this.#shares.delete(owner);
    const remote = this.#remotes.get(owner);
    if (!remote) return;
    this.#remotes.delete(owner);
    this.#closed.push(remote.id);
    this.#schedule();
  }

  /** The main thread's replies: each fills its connection's slot. */
  receive(buffer: ArrayBuffer, length: number): void {
    unpack(buffer, length, this.#reply);
  }

  #reply = (seq: number, _: number, bytes: Uint8Array): void => {
    const done = this.#dones[seq];
    const context = this.#contexts[seq];
    if (!done) return;
    this.#dones[seq] = null;
    this.#contexts[seq] = null;
    const share = this.#seqShares[seq];
    this.#seqShares[seq] = null;
    this.#free.push(seq);
    this.#waiting--;
    done(context, { reply: FORWARDED, results: null, bytes });
    share?.answered();
  };

  /** Posts what this tick gathered (one message), if anything. */
  flush(): void {
    this.#scheduled = false;
    const packed = this.#requests.take();
    const batch: ListenerBatch = {
      type: "batch",
      origins: take(this.#origins),
      refusals: take(this.#refusals),
      buffer: packed?.buffer ?? null,
      length: packed?.length ?? 0,
      events: take(this.#events),
      closed: take(this.#closed),
    };
    if (!batch.buffer && !batch.origins && !batch.refusals && !batch.events && !batch.closed) {
      return;
    }
    this.#post(batch, packed ? [packed.buffer] : []);
    if (batch.origins) this.#origins = [];
    if (batch.refusals) this.#refusals = [];
    if (batch.events) this.#events = [];
    if (batch.closed) this.#closed = [];
  }

  /** The connection's id; its origin is described to the main thread when new or changed. */
  #remote(origin: RequestOrigin): number {
    const owner = origin.owner ?? origin;
    let remote = this.#remotes.get(owner);
    if (!remote) {
      remote = { id: this.#nextId++, origin };
      this.#remotes.set(owner, remote);
    } else if (remote.origin === origin) {
      return remote.id;
    }
    remote.origin = origin;
    this.#origins.push({
      connection: remote.id,
      protocol: origin.protocol === "framed" ? "framed" : "legacy",
      peer: origin.peer,
      host: origin.identity?.address ?? origin.peer,
    });
    return remote.id;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After the other connections' reads of this tick: one message for all of them.
    queueMicrotask(() => this.flush());
  }
}

/** The array if it has anything, else null (nothing to clone). */
function take<T>(items: T[]): T[] | null {
  return items.length > 0 ? items : null;
}
