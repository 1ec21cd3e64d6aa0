/**
 * One client connection of the board port, from its first byte to its
 * close. The first 12 bytes pick the protocol (`detectFraming`):
 *
 * - legacy: one bare request, delimited from its own offsets, one bare reply
 *   (exactly 96 bytes for an inference), then close — the earlier design's
 *   clients work unchanged;
 * - framed: size-prefixed requests, many per connection, pipelined; replies
 *   go out in request order (`OrderedReplies`), each echoing its request id.
 *
 * This file keeps the framing and the deadlines; the `RequestHandler`
 * answers each message. Deadlines:
 * - a whole message gets `readTimeoutMs` from its first byte (dripping it does
 *   not extend it); past it the client gets `MALFORMED_BUFFER` and a close;
 * - a connection that sends nothing at all is closed after `readTimeoutMs`;
 * - a framed connection with no message under way is closed after
 *   `idleTimeoutMs` (boards may poll rarely: minutes);
 * - a reply whose write makes no progress for `writeTimeoutMs` aborts the
 *   connection (a client that sends and never reads).
 *
 * @example
 * ```ts ignore
 * import { Connection } from "./connection.ts";
 *
 * const connection = new Connection(await listener.accept(), context);
 * await connection.serve(); // never throws
 * ```
 * @module
 */
import { encodeLegacyReply, encodeReply } from "../../shared/codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { detectFraming, FrameDecoder, legacyMessageEnd } from "../../shared/frame.ts";
import type { Outcome, RequestHandler, RequestOrigin } from "../handler.ts";
import type { Logger } from "../log.ts";
import { OrderedReplies } from "./ordered_replies.ts";

/** Why the board port closed or refused a connection, for an observer. */
export type ConnectionReason =
  | "read-timeout"
  | "silent"
  | "idle-timeout"
  | "write-timeout";

/** A connection-level event: what `onConnection` receives. */
export interface ConnectionEvent {
  reason: ConnectionReason;
  peer: string;
}

/** What every connection shares. */
export interface ConnectionContext {
  handler: RequestHandler;
  log: Logger;
  /** Largest framed payload, in bytes. */
  maxFrame: number;
  /** Largest legacy message, in bytes. */
  maxLegacy: number;
  /** The deadline of a whole message from its first byte, and of a connection that sends nothing, in ms. */
  readTimeoutMs: number;
  /** How long a framed connection may wait between messages, in ms. */
  idleTimeoutMs: number;
  /** How long a reply's write may make no progress before the connection is aborted, in ms. */
  writeTimeoutMs: number;
  /** Replies a framed client may have outstanding before the server stops reading from it. */
  maxPipelined: number;
  /** Told when a deadline closes a connection; must not throw. */
  onConnection?: (event: ConnectionEvent) => void;
}

const READ_SIZE = 16 * 1024;

/** A client connection: serves requests until the client or the server ends it. */
export class Connection {
  readonly peer: string;
  #conn: Deno.Conn;
  #ctx: ConnectionContext;
  #replies: OrderedReplies;
  #origin: RequestOrigin;
  #closing = false;

  constructor(conn: Deno.TcpConn | Deno.TlsConn, ctx: ConnectionContext) {
    this.#conn = conn;
    this.#ctx = ctx;
    const addr = conn.remoteAddr;
    this.peer = `${addr.hostname}:${addr.port}`;
    // One identity per connection: the authorizer remembers the token it proved.
    this.#origin = {
      protocol: "legacy",
      peer: this.peer,
      identity: { address: addr.hostname, protocol: "legacy" },
    };
    this.#replies = new OrderedReplies(conn, {
      writeTimeoutMs: ctx.writeTimeoutMs,
      onWriteTimeout: () => this.#event("write-timeout"),
    });
    // Replies are small and latency matters more than packet count.
    if ("setNoDelay" in conn) conn.setNoDelay(true);
  }

  /** Reads and answers requests until the connection ends. Never throws. */
  async serve(): Promise<void> {
    const buf = new Uint8Array(READ_SIZE);
    let head: Uint8Array = new Uint8Array(0);
    let mode: "framed" | "legacy" | null = null;
    let frames: FrameDecoder | null = null;
    // When the message under way began (before the first byte: the accept).
    let messageStart: number | null = performance.now();
    let lastRead = performance.now();
    try {
      while (!this.#replies.closed && !this.#closing) {
        const buffered = frames ? frames.buffered : head.length;
        const deadline = messageStart !== null
          ? messageStart + this.#ctx.readTimeoutMs
          : lastRead + this.#ctx.idleTimeoutMs;
        const n = await this.#read(buf, deadline);
        if (n === "timeout") {
          if (buffered > 0) {
            this.#event("read-timeout");
            const got = `only ${buffered} bytes of the message arrived`;
            this.#fail(
              mode === "framed",
              new WireError(
                Status.MALFORMED_BUFFER,
                `${got} within ${this.#ctx.readTimeoutMs} ms`,
              ),
            );
          } else this.#event(mode === "framed" ? "idle-timeout" : "silent");
          break;
        }
        if (n === null) {
          if (buffered > 0) {
            this.#fail(
              mode === "framed",
              new WireError(
                Status.MALFORMED_BUFFER,
                mode === "framed"
                  ? "the stream ended inside a frame"
                  : `the message ended after ${head.length} bytes`,
              ),
            );
          }
          break;
        }
        const now = performance.now();
        lastRead = now;
        // A message's clock starts at its first byte.
        if (buffered === 0) messageStart = now;
        const chunk = buf.subarray(0, n);
        if (frames) {
          frames.push(chunk);
        } else {
          head = concat(head, chunk);
          mode = mode ?? detectFraming(head);
          if (mode === "framed") {
            this.#origin = {
              ...this.#origin,
              protocol: "framed",
              identity: { address: this.#origin.identity!.address, protocol: "framed" },
            };
            frames = new FrameDecoder(this.#ctx.maxFrame);
            frames.push(head);
            head = new Uint8Array(0);
          }
        }
        if (frames) {
          const served = this.#serveFrames(frames);
          if (served < 0) break;
          // What is left began in this chunk if a frame ended in it.
          if (frames.buffered === 0) messageStart = null;
          else if (served > 0) messageStart = now;
          if (this.#replies.outstanding >= this.#ctx.maxPipelined) {
            const paused = performance.now();
            await this.#replies.below(this.#ctx.maxPipelined);
            // Time the server spent not reading is not the client's.
            if (messageStart !== null) messageStart += performance.now() - paused;
            lastRead += performance.now() - paused;
          }
        } else if (mode === "legacy") {
          const end = legacyMessageEnd(head, this.#ctx.maxLegacy);
          if (end instanceof WireError) {
            this.#fail(false, end);
            break;
          }
          if (end > 0) {
            this.#serveMessage(head.subarray(0, end), false, true);
            break;
          }
        }
      }
    } catch (e) {
      if (!this.#replies.closed && !(e instanceof Deno.errors.BadResource)) {
        this.#ctx.log.debug("connection error", { peer: this.peer, error: (e as Error).message });
      }
    } finally {
      // Every reply owed is written before the close; a write that stalls
      // past its deadline aborts instead.
      await this.#replies.end();
    }
  }

  /**
   * Stops after what is in flight: replies already owed are written, then the
   * connection closes (which ends a read waiting for more).
   */
  async shutdown(): Promise<void> {
    this.#closing = true;
    await this.#replies.end();
  }

  /** One read, raced against `deadline` (a `performance.now()` time). */
  async #read(buf: Uint8Array, deadline: number): Promise<number | null | "timeout"> {
    const wait = deadline - performance.now();
    if (wait <= 0) return "timeout";
    const read = this.#conn.read(buf);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.min(wait, 2 ** 31 - 1));
    });
    try {
      const result = await Promise.race([read, timeout]);
      // A read left behind rejects once the connection closes.
      if (result === "timeout") read.catch(() => {});
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Answers every whole frame buffered: how many, or -1 when the stream cannot be framed and must close. */
  #serveFrames(frames: FrameDecoder): number {
    let served = 0;
    for (;;) {
      const payload = frames.next();
      if (payload === null) return served;
      if (payload instanceof WireError) {
        this.#fail(true, payload);
        return -1;
      }
      this.#serveMessage(payload, true, false);
      served++;
    }
  }

  /** Reserves one message's reply slot and fills it now or when the handler's answer is ready. */
  #serveMessage(message: Uint8Array, framed: boolean, close: boolean): void {
    const slot = this.#replies.reserve();
    const outcome = this.#ctx.handler.handle(message, this.#origin);
    if (outcome instanceof Promise) {
      outcome.then((o) => this.#replies.fill(slot, encodeOutcome(o, framed), close));
    } else {
      this.#replies.fill(slot, encodeOutcome(outcome, framed), close);
    }
  }

  /** Replies with an error the stream cannot recover from, then closes. */
  #fail(framed: boolean, error: WireError): void {
    const outcome = this.#ctx.handler.refuse(error, this.#origin);
    this.#replies.fill(this.#replies.reserve(), encodeOutcome(outcome, framed), true);
  }

  #event(reason: ConnectionReason): void {
    this.#ctx.log.debug("connection closed", { peer: this.peer, reason });
    try {
      this.#ctx.onConnection?.({ reason, peer: this.peer });
    } catch (e) {
      this.#ctx.log.error("connection observer failed", { error: (e as Error).message });
    }
  }
}

/** The bytes of a handler's reply: the 96-byte legacy reply for a legacy inference, else a `Commands` buffer. */
function encodeOutcome({ reply, inference }: Outcome, framed: boolean): Uint8Array {
  if (!framed && inference) return encodeLegacyReply(inference.scores, inference.inferenceMs);
  return encodeReply(reply, framed);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
