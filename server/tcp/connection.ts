/**
 * One client connection, from its first byte to its close. The first 12
 * bytes pick the protocol (`detectFraming`):
 *
 * - legacy: one bare request, delimited from its own offsets, one bare reply
 *   (exactly 96 bytes for an inference), then close — the earlier design's
 *   clients work unchanged;
 * - framed: size-prefixed requests, many per connection, pipelined; replies
 *   go out in request order, each echoing its request id.
 *
 * Errors are replies with a status and a sentence. A request the server cannot
 * read as a message (a malformed buffer inside a good frame, a bad digit) gets
 * its error and the connection goes on; a stream that cannot be framed, or a
 * message left half-sent past the read timeout, gets its error and is closed.
 *
 * @module
 */
import {
  Command,
  type DecodedRequest,
  decodeRequest,
  encodeLegacyReply,
  encodeReply,
  type Stats,
} from "../../shared/codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { detectFraming, FrameDecoder, legacyMessageEnd } from "../../shared/frame.ts";
import type { Inference, InferenceQueue } from "../engine/queue.ts";
import type { Logger } from "../log.ts";
import type { RequestEvent } from "../monitor/monitor.ts";

/** What every connection shares. */
export interface ConnectionContext {
  queue: InferenceQueue;
  stats: () => Stats;
  log: Logger;
  /** Largest framed payload, in bytes. */
  maxFrame: number;
  /** Largest legacy message, in bytes. */
  maxLegacy: number;
  /** How long a half-received message may wait for the rest, in ms. */
  readTimeoutMs: number;
  /** Replies a framed client may have outstanding before the server stops reading from it. */
  maxPipelined: number;
  /** Told of every answered request (metrics, dashboard, logs). */
  observe?: (event: RequestEvent) => void;
}

const READ_SIZE = 16 * 1024;

/** Replies in request order: a slot is reserved per request and filled when its answer is ready. */
class OrderedReplies {
  #conn: Deno.Conn;
  #slots: { bytes: Uint8Array | null; close: boolean }[] = [];
  #writing = false;
  #waiters: (() => void)[] = [];
  closed = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  get outstanding(): number {
    return this.#slots.length;
  }

  reserve(): { bytes: Uint8Array | null; close: boolean } {
    const slot = { bytes: null as Uint8Array | null, close: false };
    this.#slots.push(slot);
    return slot;
  }

  fill(slot: { bytes: Uint8Array | null; close: boolean }, bytes: Uint8Array, close = false): void {
    slot.bytes = bytes;
    slot.close = close;
    if (!this.#writing) this.#pump();
  }

  /** Resolves once fewer than `n` replies are outstanding. */
  below(n: number): Promise<void> {
    if (this.#slots.length < n || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async #pump(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#slots.length > 0 && this.#slots[0].bytes && !this.closed) {
        // Everything ready at the head goes out in one write.
        let count = 0;
        let size = 0;
        let close = false;
        while (count < this.#slots.length && this.#slots[count].bytes && !close) {
          size += this.#slots[count].bytes!.length;
          close = this.#slots[count].close;
          count++;
        }
        const ready = this.#slots.splice(0, count);
        let out: Uint8Array;
        if (count === 1) out = ready[0].bytes!;
        else {
          out = new Uint8Array(size);
          let at = 0;
          for (const slot of ready) {
            out.set(slot.bytes!, at);
            at += slot.bytes!.length;
          }
        }
        await writeAll(this.#conn, out);
        if (close) this.close();
        this.#wake();
      }
    } catch {
      this.close();
    } finally {
      this.#writing = false;
      this.#wake();
    }
  }

  #wake(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  /** Resolves when every reserved reply has been written (or the connection closed). */
  async idle(): Promise<void> {
    while (this.#slots.length > 0 && !this.closed) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
    this.#wake();
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** A client connection: serves requests until the client or the server ends it. */
export class Connection {
  readonly peer: string;
  #conn: Deno.Conn;
  #ctx: ConnectionContext;
  #replies: OrderedReplies;
  #closing = false;
  /** The firmware named by the connection's first request. */
  #client: string | null = null;

  constructor(conn: Deno.TcpConn, ctx: ConnectionContext) {
    this.#conn = conn;
    this.#ctx = ctx;
    this.#replies = new OrderedReplies(conn);
    const addr = conn.remoteAddr;
    this.peer = `${addr.hostname}:${addr.port}`;
    // Replies are small and latency matters more than packet count.
    conn.setNoDelay(true);
  }

  /** Reads and answers requests until the connection ends. Never throws. */
  async serve(): Promise<void> {
    const buf = new Uint8Array(READ_SIZE);
    let head: Uint8Array = new Uint8Array(0);
    let mode: "framed" | "legacy" | null = null;
    let frames: FrameDecoder | null = null;
    try {
      while (!this.#replies.closed) {
        const partial = frames ? frames.buffered > 0 : head.length > 0;
        const n = await this.#read(buf, partial);
        if (n === "timeout") {
          this.#fail(
            mode === "framed",
            new WireError(Status.MALFORMED_BUFFER, this.#timeoutMessage(head, frames)),
          );
          break;
        }
        if (n === null) {
          if (mode === "legacy" || (mode === null && head.length > 0)) {
            this.#fail(
              false,
              new WireError(
                Status.MALFORMED_BUFFER,
                `the message ended after ${head.length} bytes`,
              ),
            );
          } else if (frames && frames.buffered > 0) {
            this.#fail(
              true,
              new WireError(Status.MALFORMED_BUFFER, "the stream ended inside a frame"),
            );
          }
          break;
        }
        const chunk = buf.subarray(0, n);
        if (frames) {
          frames.push(chunk);
        } else {
          head = concat(head, chunk);
          mode = mode ?? detectFraming(head);
          if (mode === "framed") {
            frames = new FrameDecoder(this.#ctx.maxFrame);
            frames.push(head);
            head = new Uint8Array(0);
          }
        }
        if (frames) {
          if (!this.#serveFrames(frames)) break;
          if (this.#replies.outstanding >= this.#ctx.maxPipelined) {
            await this.#replies.below(this.#ctx.maxPipelined);
          }
        } else if (mode === "legacy") {
          const end = legacyMessageEnd(head, this.#ctx.maxLegacy);
          if (end instanceof WireError) {
            this.#fail(false, end);
            break;
          }
          if (end > 0) {
            this.#serveRequest(head.subarray(0, end), false, true);
            break;
          }
        }
      }
      await this.#replies.idle();
    } catch (e) {
      if (!this.#replies.closed && !(e instanceof Deno.errors.BadResource)) {
        this.#ctx.log.debug("connection error", { peer: this.peer, error: (e as Error).message });
      }
    } finally {
      this.#replies.close();
    }
  }

  /**
   * Stops after what is in flight: replies already owed are written, then the
   * connection closes (which ends a read waiting for more).
   */
  async shutdown(): Promise<void> {
    this.#closing = true;
    await this.#replies.idle();
    this.#replies.close();
  }

  /** One read, raced against the read timeout while a message is half received. */
  async #read(buf: Uint8Array, partial: boolean): Promise<number | null | "timeout"> {
    if (this.#closing && !partial) return null;
    const read = this.#conn.read(buf);
    if (!partial) return await read;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.#ctx.readTimeoutMs);
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

  #timeoutMessage(head: Uint8Array, frames: FrameDecoder | null): string {
    const got = frames ? frames.buffered : head.length;
    return `only ${got} bytes of the message arrived within ${this.#ctx.readTimeoutMs} ms`;
  }

  /** Answers every whole frame buffered; false when the stream cannot be framed and must close. */
  #serveFrames(frames: FrameDecoder): boolean {
    for (;;) {
      const payload = frames.next();
      if (payload === null) return true;
      if (payload instanceof WireError) {
        this.#fail(true, payload);
        return false;
      }
      this.#serveRequest(payload, true, false);
    }
  }

  /** Decodes one message and reserves its reply slot, filled now or when its inference is done. */
  #serveRequest(message: Uint8Array, framed: boolean, close: boolean): void {
    const received = performance.now();
    const slot = this.#replies.reserve();
    const request = decodeRequest(message);
    const protocol = framed ? "framed" : "legacy";
    const bytesIn = message.length + (framed ? 4 : 0);
    let pixels: { digitU8: Uint8Array | null; digit: Float32Array | null } | null = null;
    const reply = (
      bytes: Uint8Array,
      inference: boolean,
      error: WireError | null,
      r?: Inference,
    ) => {
      this.#replies.fill(slot, bytes, close);
      this.#ctx.observe?.({
        protocol,
        inference,
        status: error ? error.status : Status.OK,
        digits: r ? 1 : 0,
        durationMs: performance.now() - received,
        queueMs: r?.queueMs ?? 0,
        computeMs: r?.inferenceMs ?? 0,
        bytesIn,
        bytesOut: bytes.length,
        peer: this.peer,
        client: this.#client,
        error: error?.message,
        id: request instanceof WireError ? undefined : request.requestId,
        samples: r && pixels
          ? [{ ...pixels, predicted: r.predicted, score: r.scores[r.predicted] }]
          : undefined,
      });
    };
    if (request instanceof WireError) {
      this.#logError(request, 0);
      reply(errorReply(request, 0, framed), true, request);
      return;
    }
    if (request.client) this.#client = request.client;
    if (request.command === Command.GET_STATS) {
      const stats = this.#ctx.stats();
      reply(
        encodeReply({ command: Command.GET_STATS, requestId: request.requestId, stats }, framed),
        false,
        null,
      );
      return;
    }
    const inference = this.#ctx.queue.submit(request.digitU8, request.digit);
    // The decoded digit is a view of the read buffer, which later reads overwrite: copied for the dashboard.
    pixels = { digitU8: request.digitU8?.slice() ?? null, digit: request.digit?.slice() ?? null };
    if (inference instanceof WireError) {
      this.#logError(inference, request.requestId);
      reply(errorReply(inference, request.requestId, framed), true, inference);
      return;
    }
    inference.then(
      (result) => {
        if (this.#ctx.log.enabled("debug")) this.#logInference(request, result);
        reply(inferenceReply(request, result, framed), true, null, result);
      },
      (error: WireError) => {
        this.#ctx.log.error("inference failed", {
          peer: this.peer,
          code: error.code,
          error: error.message,
        });
        reply(errorReply(error, request.requestId, framed), true, error);
      },
    );
  }

  /** Replies with an error the stream cannot recover from, then closes. */
  #fail(framed: boolean, error: WireError): void {
    this.#logError(error, 0);
    const bytes = errorReply(error, 0, framed);
    this.#replies.fill(this.#replies.reserve(), bytes, true);
    this.#ctx.observe?.({
      protocol: framed ? "framed" : "legacy",
      inference: false,
      status: error.status,
      digits: 0,
      durationMs: 0,
      queueMs: 0,
      computeMs: 0,
      bytesIn: 0,
      bytesOut: bytes.length,
      peer: this.peer,
      client: this.#client,
      error: error.message,
    });
  }

  #logError(error: WireError, requestId: number): void {
    this.#ctx.log.debug("request refused", {
      peer: this.peer,
      id: requestId,
      code: error.code,
      error: error.message,
    });
  }

  #logInference(request: DecodedRequest, result: Inference): void {
    this.#ctx.log.debug("inference", {
      peer: this.peer,
      id: request.requestId,
      predicted: result.predicted,
      batch: result.batchSize,
      queue_ms: result.queueMs.toFixed(3),
      run_ms: result.inferenceMs.toFixed(3),
    });
  }
}

function inferenceReply(request: DecodedRequest, result: Inference, framed: boolean): Uint8Array {
  if (!framed) return encodeLegacyReply(result.scores, result.inferenceMs);
  return encodeReply({
    command: Command.INFERENCE_OUTPUT,
    requestId: request.requestId,
    scores: result.scores,
    predicted: result.predicted,
    inferenceMs: result.inferenceMs,
    queueMs: result.queueMs,
    batchSize: result.batchSize,
  }, true);
}

function errorReply(error: WireError, requestId: number, framed: boolean): Uint8Array {
  return encodeReply({
    command: Command.ERROR,
    requestId,
    status: error.status,
    error: error.message,
  }, framed);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
