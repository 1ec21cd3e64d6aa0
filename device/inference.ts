/**
 * The board's side of the protocol, written like an Espruino module (see
 * EspruinoDocs `modules/MQTT.js`): named constants, one constructor that
 * takes an options object with `||` defaults, and events. It runs on the
 * Espruino interpreter, so it keeps to the subset that `check_subset.ts`
 * enforces on the bundle.
 *
 * One request at a time. Framed mode keeps one connection open between
 * requests and sends the digit as 784 bytes; legacy mode opens a connection
 * per request, sends 784 floats and reads until the server closes. Every
 * failure (refused, dropped, timed out, garbled) emits one `error` event,
 * closes the connection and sets a back-off (`retryAt`) that doubles up to
 * 30 s; the next reply resets it. Framed replies are cut out of the stream
 * by the shared `FrameDecoder` and read by `reply.ts`, which checks every
 * offset; server errors are named by the shared `WireError`.
 *
 * Memory: the request buffer is made once (from the template the build laid
 * out with the shared `InferenceRequestWriter`, see `request.ts`) and
 * refilled in place; framed replies are cut out of one 256-byte buffer; the
 * scores land in one `Float32Array`; the socket listeners are made once, in
 * the constructor, not per request.
 *
 * The protocol is fixed at build time (`LEGACY`, and the request template),
 * so the bundle carries the code of one protocol only.
 *
 * Events: `reply` `(scores: Float32Array, inferenceMs: number,
 * transactionMs: number)`, the scores array being the same one every time;
 * `error` `(message: string)`, one line for people.
 *
 * @example
 * ```ts
 * // In the firmware (bundled by build.ts, which defines the constants):
 * import { Inference } from "./inference.ts";
 *
 * declare function print(...text: unknown[]): void;
 *
 * const server = new Inference({ host: "192.168.1.10", port: 32001 });
 * server.on("reply", (scores, inferenceMs, ms) => print(scores, ms + " ms"));
 * server.on("error", (message) => print(message));
 * server.send(new Uint8Array(784)); // ignored while a request is in flight
 * ```
 * @module
 */
import { CLASSES } from "../shared/codec.ts";
import { WireError } from "../shared/errors.ts";
import { FrameDecoder } from "../shared/frame.ts";
import type { EspruinoE, Listener, Net, Socket } from "./espruino.ts";
import { readReply } from "./reply.ts";
import { fillRequest, makeRequest } from "./request.ts";

// Fixed at build time (see build.ts): the protocol and the request's layout.
declare const LEGACY: boolean;
declare const REQUEST_SIZE: number;
declare const REQUEST_HEAD: string;
declare const DIGIT_AT: number;
declare const ID_AT: number;

declare const E: EspruinoE;
declare function require(name: "net"): Net;
declare function atob(base64: string): string;
/** Seconds since the board started, with sub-millisecond resolution. */
declare function getTime(): number;
// Espruino's timers: ids are numbers from 1 up.
declare function setTimeout(callback: Listener, ms: number): number;
declare function clearTimeout(id: number): void;

// Defaults and limits; times in ms.
const PORT = 32001;
/** A reply later than this means the connection is broken. */
const TIMEOUT = 5000;
/** The first wait after a failure; it doubles with each failure in a row. */
const BACKOFF = 1000;
const BACKOFF_MAX = 30000;
/** A framed reply is about 130 bytes; a frame this long is not one of ours. */
const MAX_FRAME = 1024;
/** On the ESP8266 a reply arrives in one piece of at most 268 bytes: 256 holds it. */
const FRAME_BUFFER = 256;
/** A legacy reply is 96 bytes, an error reply a little more. */
const LEGACY_BUFFER = 256;

/** Options of `Inference`. */
export interface InferenceOptions {
  /** The server's address or name. */
  host: string;
  port?: number;
  /** ms to wait for a reply. */
  timeout?: number;
}

/** A connection to the inference server that sends one digit at a time. */
export class Inference {
  /** `{host, port}`, made once for every `net.connect`. */
  to: { host: string; port: number };
  timeout: number;
  /** Whether a request is in flight; `send` refuses another until it ends. */
  busy!: boolean;
  /** `getTime()` before which callers that poll should not send: the back-off. */
  retryAt!: number;
  /** The current back-off in ms, 0 after a reply. */
  wait!: number;
  /** The request buffer, made by the first `send` and refilled by every one. */
  req: Uint8Array | null;
  private id: number;
  private sock!: Socket | null;
  private up!: boolean;
  private sentAt!: number;
  private timer!: number;
  private why!: string;
  private frames!: FrameDecoder;
  private buf!: Uint8Array;
  private n!: number;
  private scores: Float32Array;
  private onConnect: Listener;
  private onData: Listener;
  private onError: Listener;
  private onClose: Listener;
  private onTimeout: Listener;
  // Espruino gives every object these; declared, not defined.
  declare on: (event: string, listener: Listener) => void;
  declare emit: (event: string, a?: unknown, b?: unknown, c?: unknown) => void;

  constructor(options: InferenceOptions) {
    this.to = { host: options.host, port: options.port || PORT };
    this.timeout = options.timeout || TIMEOUT;
    this.id = 0;
    this.req = null;
    this.scores = new Float32Array(CLASSES);
    if (LEGACY) this.buf = new Uint8Array(LEGACY_BUFFER);
    else this.frames = new FrameDecoder(MAX_FRAME, FRAME_BUFFER);
    // Made once: these are every socket's listeners, and an abandoned socket
    // loses them (removeAllListeners), so no stale event reaches a newer one.
    this.onConnect = () => {
      this.up = true;
      if (this.busy) this.transmit();
    };
    this.onData = (data: string) => this.data(data);
    this.onError = (e: { message: string }) => this.why = e.message;
    this.onClose = () => {
      this.sock = null;
      this.up = false;
      if (LEGACY && this.busy && this.n) this.reply(this.buf.subarray(0, this.n));
      // An idle connection that drops (the server restarted) is worth one
      // line too; the next request opens a new one.
      else if (!LEGACY || this.busy) this.fail(this.why || "connection closed");
    };
    this.onTimeout = () => {
      this.timer = 0;
      this.fail("no reply");
    };
    this.reset();
  }

  /**
   * Forgets the connection and any request in flight, silently: for a board
   * that restarts from a saved RAM image, whose socket is dead.
   */
  reset(): void {
    this.sock = null;
    this.up = this.busy = false;
    this.timer = this.wait = this.retryAt = 0;
    this.why = "";
  }

  /**
   * Sends one digit, 784 bytes 0..255; nothing while a request is in flight
   * (`busy`). Ends in one `reply` or one `error` event.
   */
  send(pixels: ArrayLike<number>): void {
    if (this.busy) return;
    this.busy = true;
    const req = this.req ||
      (this.req = makeRequest(REQUEST_SIZE, E.toUint8Array(atob(REQUEST_HEAD))));
    // Ids start at 1: a reply without one decodes as 0.
    fillRequest(req, DIGIT_AT, ID_AT, ++this.id, pixels);
    this.sentAt = getTime();
    this.timer = setTimeout(this.onTimeout, this.timeout);
    if (this.up) this.transmit();
    else if (!this.sock) this.open();
  }

  private open(): void {
    if (LEGACY) this.n = 0;
    else this.frames.reset();
    try {
      const sock = this.sock = require("net").connect(this.to, this.onConnect);
      sock.on("data", this.onData);
      sock.on("error", this.onError);
      sock.on("close", this.onClose);
    } catch (e) {
      // Espruino throws here when it cannot even start: refused at once, unknown host.
      this.fail("" + e);
    }
  }

  private transmit(): void {
    try {
      // A string: write() would send a Uint8Array as its text, "1,2,3".
      (this.sock as Socket).write(E.toString(this.req as Uint8Array));
    } catch (e) {
      // "This socket is closed": it closed and the event is still queued.
      this.fail("" + e);
    }
  }

  private data(data: string): void {
    if (!this.busy) return;
    if (LEGACY) {
      // The reply ends when the server closes the connection.
      const b = this.buf;
      for (let i = 0; i < data.length && this.n < b.length; i++) b[this.n++] = data.charCodeAt(i);
      return;
    }
    const frames = this.frames;
    frames.push(E.toUint8Array(data));
    let frame;
    while (this.busy && (frame = frames.next())) {
      if (frame instanceof WireError) return this.fail("" + frame);
      this.reply(frame);
    }
  }

  private reply(bytes: Uint8Array): void {
    const r = readReply(bytes, this.scores);
    if (typeof r == "string") return this.fail(r);
    // A reply to an earlier request cannot come on a newer connection: skip it.
    if (!LEGACY && r.id != this.id) return;
    this.done();
    this.wait = this.retryAt = 0;
    if (r.status) this.emit("error", "Server: " + new WireError(r.status, r.error));
    else this.emit("reply", this.scores, r.ms, (getTime() - this.sentAt) * 1000);
  }

  /** Ends the request in flight, not the connection. */
  private done(): void {
    this.busy = false;
    // clearTimeout() with no id would clear every timer on the board.
    if (this.timer) clearTimeout(this.timer);
    this.timer = 0;
  }

  /** Gives up on the request and the connection; waits longer before the next. */
  private fail(message: string): void {
    const wait = Math.min(2 * this.wait || BACKOFF, BACKOFF_MAX);
    const sock = this.sock;
    this.done();
    if (sock) {
      sock.removeAllListeners();
      sock.end();
    }
    this.reset();
    this.wait = wait;
    this.retryAt = getTime() + wait / 1000;
    this.emit("error", "Server: " + message + "; retry in " + wait / 1000 + " s");
  }
}
