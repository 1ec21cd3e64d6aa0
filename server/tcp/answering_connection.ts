/**
 * The answering side of a board connection (`AnsweringConnection`, which
 * `Connection` extends with its read loop): the origin its requests carry
 * (protocol, peer, session, its share of the queue), its replies in request
 * order, the error replies that close it (a refusal, a message cut short or
 * timed out), its charge to the buffer budget and its limits' events. Also
 * what every connection shares (`ConnectionContext`).
 *
 * @example
 * ```ts
 * import type { AnsweringConnection, ConnectionContext } from "./answering_connection.ts";
 *
 * // A listener Worker forgets each connection once its replies are written.
 * const open = new Set<AnsweringConnection>();
 * const onClosed: ConnectionContext["onClosed"] = (connection) => open.delete(connection);
 * console.log(typeof onClosed); // function
 * ```
 * @module
 */
import { peekRequestId } from "../../shared/request_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { FrameDecoder } from "../../shared/frame.ts";
import type { AddressRanges } from "../auth/cidr.ts";
import type { RequestHandler } from "../core/handler.ts";
import type { RequestOrigin } from "../core/request.ts";
import type { Logger } from "../log.ts";
import { ClientAddress } from "./client_address.ts";
import type { ConnectionSettings } from "./connection_settings.ts";
import {
  type BoardLimits,
  budgetSpent,
  type ConnectionEvent,
  type ConnectionReason,
  type PendingRefusal,
  type QueueShare,
} from "./limits.ts";
import { OrderedReplies } from "./ordered_replies.ts";

/** What a connection calls to answer its messages: the `RequestHandler`, or a listener Worker's stand-in. */
export type ConnectionHandler = Pick<RequestHandler, "handleWith" | "refuse">;

/** What every connection shares. */
export interface ConnectionContext extends ConnectionSettings {
  handler: ConnectionHandler;
  log: Logger;
  limits: BoardLimits;
  /** Peers whose PROXY v2 header is believed; null: nobody's. */
  trustedProxies: AddressRanges | null;
  /** Told when a deadline or a limit closes, refuses or limits a connection; must not throw. */
  onConnection?: (event: ConnectionEvent) => void;
  /** Told when a connection has ended, its replies written (a listener Worker forgets it). */
  onClosed?: (connection: AnsweringConnection) => void;
}

/** A client connection's answers: its origin, its replies in request order, its error replies and events. */
export abstract class AnsweringConnection {
  protected readonly ctx: ConnectionContext;
  protected readonly replies: OrderedReplies;
  protected origin: RequestOrigin;
  /** What the connection's first request said about its board (`device`, `client`). */
  #session = { device: "", client: "" };
  protected readonly share: QueueShare;
  protected readonly client: ClientAddress;
  /** Why this connection is refused (over a cap), once its protocol is known; null: it is served. */
  protected refusal: PendingRefusal | null;
  /** The bytes of unfinished messages charged to the shared budget. */
  #charged = 0;

  /** `refusal`: this connection is to be refused (it is over the global cap) once its protocol is known. */
  constructor(
    conn: Deno.TcpConn | Deno.TlsConn,
    ctx: ConnectionContext,
    refusal: PendingRefusal | null,
  ) {
    this.ctx = ctx;
    this.refusal = refusal;
    // A connection refused at accept is not asked for a PROXY header.
    this.client = new ClientAddress(
      conn.remoteAddr,
      refusal ? null : ctx.trustedProxies,
      ctx.limits,
    );
    this.share = ctx.limits.queueShare(this);
    this.origin = this.makeOrigin("legacy");
    this.replies = new OrderedReplies(conn, {
      writeTimeoutMs: ctx.writeTimeoutMs,
      onWriteTimeout: () => this.event("write-timeout"),
    });
    try {
      // Replies are small and latency matters more than packet count.
      if ("setNoDelay" in conn) conn.setNoDelay(true);
    } catch {
      // The client already reset: the first read ends the connection.
    }
  }

  protected makeOrigin(protocol: "legacy" | "framed"): RequestOrigin {
    return {
      protocol,
      peer: this.client.peer,
      // One identity per connection: the authorizer remembers the token it proved.
      identity: { address: this.client.host, protocol },
      session: this.#session,
      owner: this,
      admit: () => {
        const refused = this.share.admit();
        if (refused) this.event("queue-share");
        return refused;
      },
      release: () => this.share.release(),
    };
  }

  /**
   * Charges the memory held for unfinished messages (`bytes`) to the shared
   * budget; false (after refusing) when over it.
   */
  protected account(bytes: number): boolean {
    if (this.ctx.limits.charge(bytes - this.#charged)) {
      this.#charged = bytes;
      return true;
    }
    this.event("buffer-budget");
    this.fail(budgetSpent(this.ctx.limits));
    return false;
  }

  /**
   * Refuses the connection in its protocol (`mode`), then closes it. A framed
   * refusal names the first request's id (a board skips replies to other
   * ids): it waits for the whole first frame in `head` (true: read on),
   * within its deadline.
   */
  protected refuse(mode: "framed" | "legacy", head: Uint8Array, refusal: PendingRefusal): boolean {
    const id = mode === "framed" ? firstRequestId(head, this.ctx.maxFrame) : 0;
    if (id === null) return true;
    this.event(refusal.reason);
    this.fail(refusal.error, id);
    return false;
  }

  /**
   * A read's deadline passed with `buffered` bytes of a message under way: it
   * gets `MALFORMED_BUFFER`; then the connection closes, which ends the read.
   */
  protected readTimeout(buffered: number, framed: boolean): void {
    if (buffered > 0 && !this.refusal) {
      this.event("read-timeout");
      this.fail(
        new WireError(
          Status.MALFORMED_BUFFER,
          `only ${buffered} bytes of the message arrived within ${this.ctx.readTimeoutMs} ms`,
        ),
      );
    } else if (!this.refusal) {
      this.event(framed ? "idle-timeout" : "silent");
    }
    this.replies.end();
  }

  /** The client ended the stream with `buffered` bytes of a message under way: it gets `MALFORMED_BUFFER`. */
  protected endedEarly(buffered: number, framed: boolean): void {
    if (buffered > 0 && !this.refusal) {
      this.fail(
        new WireError(
          Status.MALFORMED_BUFFER,
          framed ? "the stream ended inside a frame" : `the message ended after ${buffered} bytes`,
        ),
      );
    }
  }

  /** Gives back what the connection had charged to the budget (it has ended). */
  protected uncharge(): void {
    this.ctx.limits.charge(-this.#charged);
    this.#charged = 0;
  }

  /** Replies with an error the stream cannot recover from (in its protocol, legacy until known), then closes. */
  protected fail(error: WireError, requestId = 0): void {
    const outcome = this.ctx.handler.refuse(error, this.origin, { requestId });
    this.replies.fill(this.replies.reserve(), outcome.bytes, true);
  }

  protected event(reason: ConnectionReason): void {
    const peer = this.client.peer;
    this.ctx.log.debug("connection limited", { peer, reason });
    try {
      this.ctx.onConnection?.({ reason, peer });
    } catch (e) {
      this.ctx.log.error("connection observer failed", { error: (e as Error).message });
    }
  }
}

/** The id of the first framed request in `stream`: null until its frame is whole, 0 when unreadable. */
function firstRequestId(stream: Uint8Array, maxFrame: number): number | null {
  const frames = new FrameDecoder(maxFrame);
  frames.push(stream);
  const payload = frames.next();
  if (payload === null) return null;
  return payload instanceof WireError ? 0 : peekRequestId(payload);
}
