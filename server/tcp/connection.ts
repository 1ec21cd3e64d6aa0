/**
 * One client connection of the board port, from its first byte to its
 * close. The first 12 bytes pick the protocol (`detectFraming`):
 *
 * - legacy: one bare request, delimited from its own offsets, one bare reply
 *   (exactly 96 bytes for an inference), then close: the protocol of older
 *   firmware and of the C++ stress tool;
 * - framed: size-prefixed requests, many per connection, pipelined; replies
 *   go out in request order (`OrderedReplies`), each echoing its request id.
 *
 * From a `--trusted-proxy` peer, a PROXY protocol v2 header may come first
 * and names the real client. A connection over a cap (`BoardLimits`: all
 * connections, one address, bytes buffered) gets `SERVER_BUSY` in its
 * protocol once its first 12 bytes tell which, then a close; one over its
 * share of the queue gets `SERVER_BUSY` for those requests and is not read
 * again until it is under its share.
 *
 * This file keeps the read loop: framing, read deadlines
 * (`connection_settings.ts`), pauses; what is read of unfinished messages
 * waits in a `MessageBuffer` (`_message_buffer.ts`); `AnsweringConnection`
 * (`answering_connection.ts`) hands what it reads to the `RequestHandler`.
 *
 * @example
 * ```ts
 * import { Connection } from "./connection.ts";
 * import { BoardLimits } from "./limits.ts";
 * import { RequestHandler } from "../core/handler.ts";
 * import { Logger } from "../log.ts";
 * import { Command } from "../../shared/codec.ts";
 * import { decodeReply } from "../../shared/reply_codec.ts";
 * import { encodeRequest } from "../../shared/request_codec.ts";
 * import { Status, statusName, WireError } from "../../shared/errors.ts";
 *
 * const log = new Logger("error");
 * const context = {
 *   // A handler without models: inference is answered with MODEL_UNAVAILABLE.
 *   handler: new RequestHandler({
 *     route: () => new WireError(Status.MODEL_UNAVAILABLE, "this example serves no model"),
 *     stats: () => ({ version: 1, freq: 0, mode: 0, parameters: 0, served: 0, model: "none" }),
 *     log,
 *   }),
 *   log,
 *   limits: new BoardLimits({
 *     maxConnections: 100, maxConnectionsPerAddress: 100, maxBufferedBytes: 1 << 20,
 *     maxQueued: 64, minQueueShare: 16,
 *   }),
 *   trustedProxies: null,
 *   maxFrame: 16 * 1024, maxLegacy: 64 * 1024, maxPipelined: 256,
 *   readTimeoutMs: 5_000, idleTimeoutMs: 60_000, writeTimeoutMs: 10_000,
 * };
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const serving = new Connection(await listener.accept(), context).serve(); // never throws
 *
 * // A legacy request (a bare FlatBuffer): one bare reply, then the server closes.
 * const digit = new Float32Array(784);
 * await client.write(encodeRequest({ command: Command.INFERENCE_INPUT, digit }, false));
 * const bytes = new Uint8Array(await new Response(client.readable).arrayBuffer());
 * const reply = decodeReply(bytes);
 * console.log(reply instanceof WireError ? reply.message : statusName(reply.status));
 * // MODEL_UNAVAILABLE
 * await serving;
 * listener.close();
 * ```
 * @module
 */
import { WireError } from "../../shared/errors.ts";
import { detectFraming, type FrameDecoder, legacyMessageEnd } from "../../shared/frame.ts";
import type { Outcome } from "../core/request.ts";
import { AnsweringConnection, type ConnectionContext } from "./answering_connection.ts";
import { Deadline } from "./deadline.ts";
import type { PendingRefusal } from "./limits.ts";
import type { ReplySlot } from "./ordered_replies.ts";
import { MessageBuffer } from "./_message_buffer.ts";

/**
 * One read's most bytes: a burst of pipelined frames is taken (and queued) in
 * a few goes. A read that did not fill its buffer (a board's one request at a
 * time, a dripping client) is followed by a small one, so thousands of slow
 * connections hold little memory that the buffer budget does not count; a
 * read that fills its buffer brings back the big one.
 */
const READ_SIZE = 16 * 1024;
const SMALL_READ_SIZE = 1024;

/** A client connection: serves requests until the client or the server ends it. */
export class Connection extends AnsweringConnection {
  #conn: Deno.TcpConn | Deno.TlsConn;
  #closing = false;
  /** What was read of messages not yet whole. */
  #messages = new MessageBuffer();
  /** When the message under way began (before the first byte: the accept); null between framed messages. */
  #messageStart: number | null = performance.now();
  #lastRead = performance.now();
  /** The read deadline: a whole message's, or the idle one between framed messages; Infinity between reads. */
  #deadline = new Deadline(() => this.#readTimedOut());
  /** A read's deadline passed: the connection is being closed. */
  #timedOut = false;

  /** `refusal`: refuse this connection (it is over the global cap) once its protocol is known. */
  constructor(
    conn: Deno.TcpConn | Deno.TlsConn,
    ctx: ConnectionContext,
    refusal: PendingRefusal | null = null,
  ) {
    super(conn, ctx, refusal);
    this.#conn = conn;
  }

  /** Reads and answers requests until the connection ends. Never throws. */
  async serve(): Promise<void> {
    // Until the protocol is known, and for legacy messages, reads go to a
    // buffer of their own; framed reads go straight into the frame decoder.
    let buf = new Uint8Array(SMALL_READ_SIZE);
    let filled = false;
    try {
      if (!this.client.awaitingHeader && !this.refusal) this.refusal = this.client.admit();
      while (!this.replies.closed && !this.#closing) {
        const buffered = this.#messages.buffered;
        const deadline = this.#messageStart !== null
          ? this.#messageStart + this.ctx.readTimeoutMs
          : this.#lastRead + this.ctx.idleTimeoutMs;
        let into: Uint8Array;
        const frames = this.#messages.frames;
        if (frames) {
          // While data pours in, room for a big read; otherwise the room
          // there is: a header promising 16 KB does not reserve it.
          const room = filled ? READ_SIZE : Math.max(1, Math.min(SMALL_READ_SIZE, frames.free));
          // The room is charged before it is made: a burst cannot grow the
          // buffer past the budget, however little of it then arrives.
          if (!this.account(Math.max(this.#messages.held, frames.capacityFor(room)))) break;
          into = frames.space(room);
        } else {
          const want = filled ? READ_SIZE : SMALL_READ_SIZE;
          if (buf.length !== want) buf = new Uint8Array(want);
          into = buf;
        }
        // The deadline's timer answers a read that times out (`#readTimedOut`)
        // and closes the connection, which ends the read: no race per read.
        this.#deadline.set(deadline);
        if (this.#timedOut) break;
        const n = await this.#conn.read(into);
        this.#deadline.set(Infinity);
        if (this.#timedOut) break;
        if (n === null) {
          this.endedEarly(buffered, this.#messages.mode === "framed");
          break;
        }
        filled = n === into.length;
        if (!(await this.#take(into.subarray(0, n), into !== buf))) break;
      }
    } catch (e) {
      if (!this.replies.closed && !(e instanceof Deno.errors.BadResource)) {
        this.ctx.log.debug("connection error", {
          peer: this.client.peer,
          error: (e as Error).message,
        });
      }
    } finally {
      // Every reply owed is written before the close; a write that stalls
      // past its deadline aborts instead.
      this.#deadline.clear();
      await this.replies.end();
      this.client.release();
      this.uncharge();
      this.ctx.onClosed?.(this);
    }
  }

  /**
   * A read's deadline passed (the timer calls this while the read waits):
   * a message under way gets `MALFORMED_BUFFER`; then the connection closes,
   * which ends the read.
   */
  #readTimedOut(): void {
    this.#timedOut = true;
    this.readTimeout(this.#messages.buffered, this.#messages.mode === "framed");
  }

  /**
   * Stops after what is in flight: replies already owed are written, then the
   * connection closes (which ends a read waiting for more).
   */
  async shutdown(): Promise<void> {
    this.#closing = true;
    await this.replies.end();
  }

  /**
   * Takes one chunk of the stream (`decoded`: it was read into the frame
   * decoder's own space); false when the connection is to close.
   */
  async #take(chunk: Uint8Array, decoded: boolean): Promise<boolean> {
    const messages = this.#messages;
    const now = performance.now();
    this.#lastRead = now;
    // A message's clock starts at its first byte.
    if (messages.buffered === 0) this.#messageStart = now;
    messages.add(chunk, decoded);
    if (this.client.awaitingHeader) {
      const rest = this.client.take(messages.head);
      if (rest === null) return true;
      if (rest instanceof WireError) {
        this.fail(rest);
        return false;
      }
      messages.head = rest;
      this.origin = this.makeOrigin("legacy");
      this.refusal = this.client.admit();
    }
    if (!messages.frames) {
      messages.mode ??= detectFraming(messages.head);
      // Replies are encoded for the origin's protocol: a refusal too.
      if (messages.mode === "framed") this.origin = this.makeOrigin("framed");
      if (messages.mode !== null && this.refusal) {
        return this.refuse(messages.mode, messages.head, this.refusal);
      }
      if (messages.mode === "framed") messages.startFrames(this.ctx.maxFrame);
    }
    messages.ownHead(chunk);
    // Charged once the protocol is known, so a refusal is in the client's protocol.
    if (!this.account(messages.held)) return false;
    if (messages.mode === "legacy") {
      const end = this.client.strayHeader(messages.head) ??
        legacyMessageEnd(messages.head, this.ctx.maxLegacy);
      if (end instanceof WireError) this.fail(end);
      else if (end > 0) this.#serveMessage(messages.head.subarray(0, end), true);
      return end === 0;
    }
    if (!messages.frames) return true;
    const served = this.#serveFrames(messages.frames);
    if (served < 0) return false;
    // What is left began in this chunk if a frame ended in it.
    if (messages.frames.buffered === 0) this.#messageStart = null;
    else if (served > 0) this.#messageStart = now;
    this.account(messages.held);
    // Not read further while its replies are not being read, or while it has
    // its share of the queue: what it sends meanwhile waits in the socket,
    // instead of being read only to be refused, over and over, at the cost of
    // everyone else's time on the event loop.
    if (this.replies.outstanding >= this.ctx.maxPipelined) {
      await this.#paused(this.replies.below(this.ctx.maxPipelined));
    }
    if (this.share.full) await this.#paused(this.share.whenUnder());
    return true;
  }

  /** Waits for `resume`; the time the server spent not reading is not the client's. */
  async #paused(resume: Promise<void>): Promise<void> {
    const paused = performance.now();
    await resume;
    const waited = performance.now() - paused;
    if (this.#messageStart !== null) this.#messageStart += waited;
    this.#lastRead += waited;
  }

  /** Answers every whole frame buffered: how many, or -1 when the stream cannot be framed and must close. */
  #serveFrames(frames: FrameDecoder): number {
    let served = 0;
    for (;;) {
      const payload = frames.next();
      if (payload === null) return served;
      if (payload instanceof WireError) {
        this.fail(payload);
        return -1;
      }
      this.#serveMessage(payload, false);
      served++;
    }
  }

  /** Reserves one message's reply slot and fills it now or when the handler's answer is ready. */
  #serveMessage(message: Uint8Array, close: boolean): void {
    const slot = this.replies.reserve();
    slot.close = close;
    // Its clock starts at the read that completed it (one clock read for every frame it held).
    this.ctx.handler.handleWith(message, this.origin, this.#answered, slot, this.#lastRead);
  }

  /** Fills a reply's slot with its outcome (bound once per connection: a request costs no closure). */
  #answered = (slot: ReplySlot, outcome: Outcome): void => {
    this.replies.fill(slot, outcome.bytes, slot.close);
  };
}
