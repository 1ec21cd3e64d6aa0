/**
 * What the main thread and the listener Workers of `--listeners N` say to
 * each other, and the packing of many messages into one transferable buffer:
 * a Worker posts one batch per tick (every request its connections read,
 * each as `[connection u32][seq u32][length u32][bytes]`), the main thread
 * one batch of replies (`[seq u32][0][length u32][bytes]`). The HTTP port's
 * requests and answers go as plain notes (`HttpRequestNote`, `HttpAnswerNote`),
 * a tick's in one message each way; a passed-on body's chunks one by one, as
 * its route reads them (`httpBodyPull`, `HttpBodyChunk`).
 *
 * @example
 * ```ts
 * import { Packer, unpack } from "./listener_wire.ts";
 *
 * const packer = new Packer();
 * packer.add(7, 1, new Uint8Array([1, 2, 3]));
 * packer.add(7, 2, new Uint8Array([4]));
 * const { buffer, length } = packer.take()!;
 * unpack(buffer, length, (connection, seq, bytes) => console.log(connection, seq, bytes.length));
 * // 7 1 3
 * // 7 2 1
 * ```
 * @module
 */
import type { ConnectionSettings } from "../tcp/connection_settings.ts";
import type { ConnectionEvent, LimitOptions } from "../tcp/limits.ts";
import type { Protocol } from "../core/request.ts";
import type { LogFormat, LogLevel } from "../log.ts";
import type { HttpAnswer, InferInput } from "../http/infer.ts";
import type { SplitBody } from "../http/oip_request_body.ts";

/** What a listener Worker needs to listen and serve: the connection context, as data. */
export interface ListenerSettings extends ConnectionSettings {
  hostname: string;
  port: number;
  /** The shared counters of `SharedBoardLimits`, their options, and the Worker's column in them (1 and up). */
  limits: SharedArrayBuffer;
  limitOptions: LimitOptions;
  thread: number;
  /** The TLS board port (`--tls-port`) and its certificate and key, PEM; null: none. */
  tls: { port: number; cert: string; key: string } | null;
  /** `--trusted-proxy`'s ranges; null: nobody's PROXY header is believed. */
  trustedProxies: string[] | null;
  logLevel: LogLevel;
  logFormat: LogFormat;
}

/** A connection's origin as the main thread rebuilds it (sent when it is new or changed). */
export interface OriginNote {
  connection: number;
  protocol: Extract<Protocol, "legacy" | "framed">;
  peer: string;
  host: string;
}

/** An error a Worker answered itself (a bad frame, a timeout, a cap): the main thread observes it. */
export interface RefusalNote {
  connection: number;
  status: number;
  message: string;
  requestId: number;
}

/** The HTTP port as the listener Workers serve it (`--http-port` with `--listeners N`). */
export interface HttpFrontSettings {
  hostname: string;
  port: number;
  /** HTTPS (`--http-tls-cert`, `--http-tls-key`), PEM; null: plain HTTP. */
  tls: { cert: string; key: string } | null;
  /** `--max-http-body`: an inference's body is limited by it in the Worker, while it is read. */
  maxBodyBytes: number;
  /** `--http-body-timeout-ms`: a body read in the Worker must arrive within it; absent, no deadline. */
  bodyTimeoutMs?: number;
  /** `--trusted-proxy`'s ranges: peers whose `X-Forwarded-For` names the client. */
  trustedProxies: string[] | null;
  /**
   * Device tokens are on: an infer's body is left unread for the main thread,
   * which reads it (as any route's) once the token is authorized.
   */
  tokensOn: boolean;
}

/** A `WireError` as it crosses to another thread: plain data. */
export interface PostedError {
  status: number;
  message: string;
}

/** An inference's input as a Worker posts it (its error as plain data). */
export type PostedInferInput = Omit<InferInput, "split"> & { split: SplitBody | PostedError };

/** One HTTP request a Worker took, for the main thread to answer; `infer` or `proxy` is set. */
export interface HttpRequestNote {
  seq: number;
  /** The client's `host:port`. */
  peer: string;
  /**
   * Milliseconds from the request's headers to its posting, its body's
   * arrival among them, on the Worker's own clock (threads' clocks differ by
   * their start): a request's duration includes its upload, as in process.
   */
  readMs: number;
  /** An inference, its body read and split by the Worker. */
  infer: { name: string; version: string | undefined; input: PostedInferInput } | null;
  /**
   * Any other request as it came. Its body, when it has one, stays in the
   * Worker until the route reads it: chunk by chunk on `httpBodyPull`, so a
   * route that answers without it (a 404, a refused token) waits for none of
   * it, and one that reads it limits it while it comes, as in process.
   */
  proxy: {
    method: string;
    url: string;
    headers: [string, string][];
    hasBody: boolean;
  } | null;
}

/** A proxied request's next body chunk (null: the body ended), or why it could not be read. */
export interface HttpBodyChunk {
  type: "httpBodyChunk";
  seq: number;
  chunk: Uint8Array | null;
  error: string | null;
}

/** The main thread's answer to one `HttpRequestNote`. */
export interface HttpAnswerNote extends HttpAnswer {
  seq: number;
}

/** From the main thread to a listener Worker. */
export type ToListener =
  /** `lifeLock`: a Web Lock the Worker holds while it lives, granted to another once it has stopped. */
  | { type: "listen"; settings: ListenerSettings; lifeLock: string }
  | { type: "serve" }
  | { type: "replies"; buffer: ArrayBuffer; length: number }
  | { type: "drain" }
  | { type: "http"; settings: HttpFrontSettings }
  | { type: "httpAnswers"; answers: HttpAnswerNote[] }
  | { type: "httpBodyPull"; seq: number }
  | { type: "httpBodyCancel"; seq: number }
  | { type: "httpDrain" }
  /**
   * A sign of life asked for (`listener_liveness.ts`): the Worker's event
   * loop answers `pong`. With `lifeLock` (a start's first ping, `bind`), the
   * Worker first takes that lock, held while it lives, and answers once it
   * holds it.
   */
  | { type: "ping"; lifeLock?: string };

/** From a listener Worker to the main thread. */
export type FromListener =
  | { type: "listening"; port: number; tlsPort: number | null }
  | { type: "failed"; name: string; message: string }
  | ListenerBatch
  | { type: "drained" }
  | { type: "httpListening"; port: number }
  | { type: "httpFailed"; name: string; message: string }
  | { type: "httpRequests"; requests: HttpRequestNote[] }
  | HttpBodyChunk
  | { type: "httpDrained" }
  | { type: "pong" };

/** One tick of a Worker's connections: applied in this order (origins, refusals, requests, events, closes). */
export interface ListenerBatch {
  type: "batch";
  origins: OriginNote[] | null;
  refusals: RefusalNote[] | null;
  /** Packed requests, or null when none. */
  buffer: ArrayBuffer | null;
  length: number;
  events: ConnectionEvent[] | null;
  /** Connections that ended: the main thread forgets them. */
  closed: number[] | null;
}

const HEADER = 12;

/** Packs `[a][b][length][bytes]` records into one growing buffer, taken whole to be transferred. */
export class Packer {
  #bytes: Uint8Array;
  #view: DataView;
  #length = 0;
  #initial: number;

  constructor(size = 4096) {
    this.#initial = size;
    this.#bytes = new Uint8Array(size);
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** Whether nothing is packed. */
  get empty(): boolean {
    return this.#length === 0;
  }

  add(a: number, b: number, payload: Uint8Array): void {
    const need = this.#length + HEADER + payload.length;
    if (need > this.#bytes.length) this.#grow(need);
    const at = this.#length;
    this.#view.setUint32(at, a, true);
    this.#view.setUint32(at + 4, b, true);
    this.#view.setUint32(at + 8, payload.length, true);
    this.#bytes.set(payload, at + HEADER);
    this.#length = need;
  }

  /**
   * The packed records (null when none); the packer starts a new buffer,
   * sized for a batch like this one (a burst's big buffer is not made again
   * for every small batch after it).
   */
  take(): { buffer: ArrayBuffer; length: number } | null {
    if (this.#length === 0) return null;
    const taken = { buffer: this.#bytes.buffer as ArrayBuffer, length: this.#length };
    let size = this.#initial;
    while (size < this.#length) size *= 2;
    this.#bytes = new Uint8Array(size);
    this.#view = new DataView(this.#bytes.buffer);
    this.#length = 0;
    return taken;
  }

  #grow(need: number): void {
    let size = this.#bytes.length * 2;
    while (size < need) size *= 2;
    const bytes = new Uint8Array(size);
    bytes.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer);
  }
}

/** Calls `each` with every record of a packed buffer; `bytes` is a view into it. */
export function unpack(
  buffer: ArrayBuffer,
  length: number,
  each: (a: number, b: number, bytes: Uint8Array) => void,
): void {
  const view = new DataView(buffer, 0, length);
  for (let at = 0; at + HEADER <= length;) {
    const size = view.getUint32(at + 8, true);
    each(
      view.getUint32(at, true),
      view.getUint32(at + 4, true),
      new Uint8Array(buffer, at + HEADER, size),
    );
    at += HEADER + size;
  }
}
