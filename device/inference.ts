/**
 * The board's side of the protocol, written like an Espruino module (see
 * EspruinoDocs `modules/MQTT.js`): named constants, one constructor that
 * takes an options object with `||` defaults, and events. It runs on the
 * Espruino interpreter, so it keeps to the subset that `check_subset.ts`
 * enforces on the bundle.
 *
 * One request at a time. Framed mode keeps one connection open between
 * requests and sends the digit as 784 bytes; legacy mode opens a connection
 * per request, sends 784 floats and reads until the server closes. Framed
 * requests carry the board's token (`token`) and, on a connection's first
 * request, its name and VERSION (`client`); a connection the server closes
 * while idle is normal, and the next request opens a new one. Every
 * failure (refused, dropped, timed out, garbled) of a request emits one `error` event,
 * closes the connection and sets a back-off (`retryAt`) that doubles up to
 * 30 s; the next reply resets it. Framed replies are cut out of the stream
 * here (a length, then the payload) and read by `shared/board_reply.ts`, which checks
 * every offset; server errors are named as the shared `WireError` names them.
 *
 * Memory (Espruino counts variables: a function costs about five, a
 * property one or two, 16 bytes of a buffer one): nothing is allocated
 * until the first request, which makes the request buffer (from the
 * template the build laid out with the shared `InferenceRequestWriter`, see
 * `request.ts`), one reply buffer and the scores, all refilled in place
 * ever after. The caller writes the digit straight into the request
 * (`digit()`), so there is no second copy of it. The socket listeners are
 * made once, in the constructor, not per request, and the methods are few.
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
 * server.digit().fill(255); // the digit, written in place
 * server.send(); // ignored while a request is in flight
 * ```
 * @module
 */
import { CLASSES, DIGIT_PIXELS } from "../shared/codec.ts";
import type { EspruinoE, Listener, Net, Socket } from "./espruino.ts";
import { readReply } from "../shared/board_reply.ts";

// Fixed at build time (see build.ts): the protocol and the request's layout.
declare const LEGACY: boolean;
declare const REQUEST_SIZE: number;
declare const REQUEST_HEAD: string;
declare const DIGIT_AT: number;
declare const ID_AT: number;
declare const TOKEN_AT: number;
/**
 * `STATUS_NAME_LIST` of `shared/errors.ts`, put in by the build as a literal
 * where it is used: code saved to flash reads it from flash when an error
 * comes, where a module-level string would hold 17 variables all the time.
 */
declare const STATUS_NAMES: string;
declare const TOKEN_SLOT_AT: number;
declare const TOKEN_SLOT: number;
declare const CLIENT_SLOT_AT: number;
declare const CLIENT_SLOT: number;

declare const E: EspruinoE;
declare function require(name: "net"): Net;
declare function atob(base64: string): string;
/** Seconds since the board started, with sub-millisecond resolution. */
declare function getTime(): number;
// Espruino's timers: ids are numbers from 1 up.
declare function setTimeout(callback: Listener, ms: number): number;
declare function clearTimeout(id: number): void;

/** Defaults and limits; times in ms. A `const enum`: inlined, no variables on the board. */
const enum C {
  PORT = 32001,
  /** A reply later than this (ms) means the connection is broken. */
  TIMEOUT = 5000,
  /** The first wait after a failure; it doubles with each failure in a row. */
  BACKOFF = 1000,
  BACKOFF_MAX = 30000,
  /**
   * The reply buffer: a framed reply is about 130 bytes, a legacy one 96, an
   * error a little more; a frame longer than this less the length is not ours.
   */
  BUFFER = 256,
  /** The length before each frame's payload. */
  HEADER = 4,
  /** A FlatBuffer is at least this long; its identifier follows its root offset. */
  MIN_PAYLOAD = 8,
  /** Legacy: floats per piece sent (784 = 16 × 49). */
  PIECE = 49,
  /** Framed: bytes per piece sent. */
  CHUNK = 128,
}

/** Options of `Inference`. */
export interface InferenceOptions {
  /** The server's address or name. */
  host: string;
  port?: number;
  /** The device's token, 32 characters; "" or absent for none. Framed only. */
  token?: string;
}

/** A connection to the inference server that sends one digit at a time. */
export class Inference {
  /** Where the server is; `setServer` on the board changes them. */
  host: string;
  port: number;
  /** The token every framed request carries from the next one on: 32 characters, "" for none. */
  token: string;
  /** Whether a request is in flight; `send` refuses another until it ends. */
  busy!: boolean;
  /** `getTime()` before which callers that poll should not send: the back-off. */
  retryAt!: number;
  /** The current back-off in ms, 0 after a reply. */
  wait!: number;
  /**
   * The request buffer, made by the first `digit()` and refilled by every
   * request. Legacy mode keeps only the bytes before the floats and the
   * digit's 784 bytes; `head` and `piece` are views made once with it.
   */
  req: Uint8Array | null;
  private head!: Uint8Array;
  /** Legacy: a few of the floats at a time, sent one piece after another, and its bytes. */
  private piece!: Float32Array;
  private pieceBytes!: Uint8Array;
  private id: number;
  private sock!: Socket | null;
  private up!: boolean;
  private sentAt!: number;
  /** Whether the request in flight went on a kept connection (see `onClose`). */
  private kept!: boolean;
  /** Where the next piece of the request starts; -1 when all of it is written. */
  private at!: number;
  private timer!: number;
  private why!: string;
  /** The reply being read, and how many bytes of it have come. */
  private buf!: Uint8Array;
  private n!: number;
  private scores!: Float32Array;
  private onConnect: Listener;
  private onData: Listener;
  private onClose: Listener;
  private onTimeout: Listener;
  // Espruino gives every object these; declared, not defined.
  declare on: (event: string, listener: Listener) => void;
  declare emit: (event: string, a?: unknown, b?: unknown, c?: unknown) => void;

  constructor(options: InferenceOptions) {
    this.host = options.host;
    this.port = options.port || C.PORT;
    this.token = options.token || "";
    this.id = 0;
    this.req = null;
    // Made once: these are every socket's listeners, and an abandoned socket
    // loses them (removeAllListeners), so no stale event reaches a newer one.
    // `onConnect` is also the `drain` listener: each one writes the next piece.
    this.onConnect = () => {
      this.up = true;
      this.pump();
    };
    this.onData = (data: string) => this.data(data);
    // Also the `error` listener: Espruino emits `error` with the reason, then `close`.
    this.onClose = (e?: { message: string }) => {
      if (e && e.message) {
        this.why = e.message;
        return;
      }
      this.sock = null;
      this.up = false;
      if (LEGACY && this.busy && this.n) this.reply(this.buf.subarray(0, this.n));
      else if (!LEGACY && this.busy && this.kept && !this.n) {
        // The server closed the kept connection (its idle timeout) as the
        // request went out: that is a close while idle, so the request goes
        // again on a new connection, once, without a word or a back-off.
        this.fail("");
        this.send();
      } // A close while idle is normal: the next request opens a new connection.
      else if (this.busy) this.fail(this.why || "connection closed");
      this.why = "";
    };
    this.onTimeout = () => {
      this.timer = 0;
      this.fail("no reply");
    };
    this.reset();
  }

  /**
   * Closes the connection, if any, and forgets it and any request in flight,
   * silently: the next request opens a new connection. Also for a board that
   * restarts from a saved RAM image, whose socket is dead.
   */
  reset(): void {
    const sock = this.sock;
    try {
      if (sock) {
        sock.removeAllListeners();
        sock.end();
      }
    } catch (_) {
      // A socket from a saved RAM image may be past closing.
    }
    this.sock = null;
    this.up = this.busy = false;
    this.timer = this.wait = this.retryAt = 0;
    this.why = "";
  }

  /**
   * The digit of the next request, 784 bytes 0..255 to write in place; the
   * first call makes the buffers. Legacy requests carry floats, made from
   * these bytes a piece at a time as they are sent.
   */
  digit(): Uint8Array {
    let req = this.req;
    if (!req) {
      req = this.req = new Uint8Array(LEGACY ? DIGIT_AT + DIGIT_PIXELS : REQUEST_SIZE);
      req.set(E.toUint8Array(atob(REQUEST_HEAD)));
      if (LEGACY) {
        this.head = req.subarray(0, DIGIT_AT);
        this.piece = new Float32Array(C.PIECE);
        this.pieceBytes = new Uint8Array(this.piece.buffer);
      }
      this.buf = new Uint8Array(C.BUFFER);
      this.scores = new Float32Array(CLASSES);
    }
    return req.subarray(DIGIT_AT, DIGIT_AT + DIGIT_PIXELS);
  }

  /**
   * Writes the request's next piece, if a request is being sent: one piece
   * per `connect` or `drain` event, so the socket's send buffer never holds
   * a copy of the whole request (on the ESP8266 that copy alone is about
   * 100 variables). Legacy pieces are floats, made from the digit's bytes.
   */
  private pump(): void {
    const at = this.at;
    const sock = this.sock;
    if (!this.busy || at < 0 || !sock) return;
    const req = this.req as Uint8Array;
    let next;
    try {
      // A string: write() would send a Uint8Array as its text, "1,2,3".
      if (!LEGACY) {
        next = Math.min(at + C.CHUNK, REQUEST_SIZE);
        sock.write(E.toString(req.subarray(at, next)));
      } else if (!at) {
        next = DIGIT_AT;
        sock.write(E.toString(this.head));
      } else {
        const piece = this.piece;
        for (let i = 0; i < C.PIECE; i++) piece[i] = req[at + i] / 255;
        next = at + C.PIECE;
        sock.write(E.toString(this.pieceBytes));
      }
      this.at = next < (LEGACY ? DIGIT_AT + DIGIT_PIXELS : REQUEST_SIZE) ? next : -1;
    } catch (e) {
      // "This socket is closed": it closed and the event is still queued.
      this.fail("" + e);
    }
  }

  /**
   * Sends the digit written into `digit()`; nothing while a request is in
   * flight (`busy`). Ends in one `reply` or one `error` event.
   */
  send(): void {
    if (this.busy) return;
    if (!this.req) this.digit();
    const req = this.req as Uint8Array;
    this.busy = true;
    this.n = 0;
    if (!LEGACY) {
      // Ids start at 1: a reply without one decodes as 0. Little-endian, in place.
      const id = ++this.id;
      for (let i = 0; i < 4; i++) req[ID_AT + i] = id >>> 8 * i;
      // The token, when there is one (the field is left out otherwise), and
      // who we are, on a connection's first request only.
      const token = this.token;
      for (let i = 0; i < token.length; i++) req[TOKEN_AT + i] = token.charCodeAt(i);
      req[TOKEN_SLOT_AT] = token ? TOKEN_SLOT : 0;
      req[CLIENT_SLOT_AT] = this.up ? 0 : CLIENT_SLOT;
    }
    this.sentAt = getTime();
    this.timer = setTimeout(this.onTimeout, C.TIMEOUT);
    this.at = 0;
    // Whether it goes on a connection kept from an earlier request.
    this.kept = this.up;
    if (this.up) return this.pump();
    if (this.sock) return;
    try {
      // The options object lives only while connecting: a held one costs variables.
      const sock = this.sock = require("net").connect(
        { host: this.host, port: this.port },
        this.onConnect,
      );
      sock.on("drain", this.onConnect);
      sock.on("data", this.onData);
      sock.on("error", this.onClose);
      sock.on("close", this.onClose);
    } catch (e) {
      // Espruino throws here when it cannot even start: refused at once, unknown host.
      this.fail("" + e);
    }
  }

  private data(data: string): void {
    if (!this.busy) return;
    const b = this.buf;
    for (let i = 0; i < data.length && this.n < C.BUFFER; i++) b[this.n++] = data.charCodeAt(i);
    // A legacy reply ends when the server closes the connection.
    if (LEGACY) return;
    // Frames: a 32-bit little-endian length, then a FlatBuffer with "MNST" at 4.
    while (this.busy && this.n >= C.HEADER) {
      const length = (b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24) >>> 0;
      const end = C.HEADER + length;
      if (end > C.BUFFER) {
        return this.fail("FRAME_TOO_LARGE: frame of " + length + " bytes");
      }
      // Too short for a FlatBuffer, or not ours.
      if (
        length < C.MIN_PAYLOAD ||
        this.n >= 12 && String.fromCharCode(b[8], b[9], b[10], b[11]) != "MNST"
      ) return this.fail("MALFORMED_BUFFER: not an MNST frame");
      if (this.n < end) return;
      this.reply(b.subarray(C.HEADER, end));
      // What came after the frame moves to the front.
      b.set(b.subarray(end, this.n));
      this.n -= end;
    }
  }

  private reply(bytes: Uint8Array): void {
    const r = readReply(bytes, this.scores);
    if (typeof r == "string") return this.fail(r);
    // A reply to an earlier request cannot come on a newer connection: skip it.
    if (!LEGACY && r.id != this.id) return;
    this.fail("");
    if (r.status) {
      this.emit(
        "error",
        "Server: " + (STATUS_NAMES.split(" ")[r.status] || "STATUS_" + r.status) + ": " +
          r.error,
      );
    } else this.emit("reply", this.scores, r.ms, (getTime() - this.sentAt) * 1000);
  }

  /**
   * Ends the request in flight. With a `message`, a failure: also drops the
   * connection, waits longer before the next request and says so.
   */
  private fail(message: string): void {
    this.busy = false;
    // clearTimeout() with no id would clear every timer on the board.
    if (this.timer) clearTimeout(this.timer);
    this.timer = 0;
    if (!message) {
      this.wait = this.retryAt = 0;
      return;
    }
    const wait = Math.min(2 * this.wait || C.BACKOFF, C.BACKOFF_MAX);
    this.reset();
    this.wait = wait;
    this.retryAt = getTime() + wait / 1000;
    this.emit("error", "Server: " + message + "; retry in " + wait / 1000 + " s");
  }
}
