// deno-lint-ignore-file no-this-alias -- Espruino-module style, see `TcpClient`.
/**
 * The board's side of the protocol, written like an Espruino module (see
 * EspruinoDocs `modules/MQTT.js`): named constants, one constructor that
 * takes an options object, and events. It runs on the
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
 * Both protocols (update builds carry framed only) share one request buffer, laid out as a framed request
 * whose digit is its last 784 bytes: framed mode sends it as it is, legacy
 * mode sends its own head (from the build, 44 bytes) and then the digit's
 * bytes as floats, a piece at a time. The id, token and client are filled
 * in for every request, whichever the protocol: legacy simply never sends
 * those bytes. So switching (`legacy`, then `reset()`) costs nothing but the
 * legacy piece, made by the first legacy request and dropped by `reset()`.
 *
 * Events: `reply` `(scores: Float32Array, inferenceMs: number,
 * transactionMs: number)`, the scores array being the same one every time;
 * `error` `(message: string)`, one line for people.
 *
 * @example
 * ```ts
 * // In the firmware (bundled by build.ts, which defines the constants):
 * import { TcpClient } from "./tcp_client.ts";
 *
 * // `print` is Espruino's global; it is a parameter here only so that Deno can check this.
 * export function classifyBlank(print: (...text: unknown[]) => void): TcpClient {
 *   const server = new TcpClient({ host: "192.168.1.10", port: 32001, token: "", legacy: 0 });
 *   server.on("reply", (scores, inferenceMs, ms) => print(scores, ms + " ms"));
 *   server.on("error", (message) => print(message));
 *   server.digit().fill(255); // the digit, written in place
 *   server.send(); // ignored while a request is in flight
 *   return server;
 * }
 * ```
 * @module
 */
import { CLASSES } from "../shared/codec.ts";
import type { EspruinoE, Listener, Net, Socket } from "./espruino.ts";
import { begin, fail, settle } from "./exchange.ts";

// Fixed at build time (see build.ts): the requests' layouts.
declare const REQUEST_SIZE: number;
declare const REQUEST_HEAD: string;
declare const DIGIT_AT: number;
/** The legacy request's bytes before the floats, base64. */
declare const LEGACY_HEAD: string;
/** True in a build with updates over the air (`--updates`, see `updater.ts`). */
declare const UPDATES: boolean;
/** From the digit's first byte: where an update request ends and the reply buffer starts. */
declare const UPDATE_END: number;

declare const E: EspruinoE;
declare function require(name: "net"): Net;
declare function atob(base64: string): string;

/** Defaults and limits; times in ms. A `const enum`: inlined, no variables on the board. */
const enum C {
  /**
   * The reply buffer: a framed reply is about 130 bytes, a legacy one 96, an
   * error a little more; a frame longer than this with its length is not ours.
   */
  BUFFER = 256,
  /** The identifier, "MNST", read as a little-endian 32-bit integer. */
  MAGIC = 0x54534e4d,
  /** The length before each frame's payload. */
  HEADER = 4,
  /** A FlatBuffer is at least this long; its identifier follows its root offset. */
  MIN_PAYLOAD = 8,
  /** Legacy: floats per piece sent, half a row (784 = 56 × 14): 56 bytes at a time. */
  PIECE = 14,
  /** Framed: bytes per piece sent; each sits in the socket as a string until sent. */
  CHUNK = 64,
}

/** Options of `TcpClient`. */
export interface InferenceOptions {
  /** The server's address or name. */
  host: string;
  port: number;
  /** The device's token, 32 characters; "" for none. Framed only. */
  token: string;
  /** 1 to speak the earlier protocol, 0 for framed. */
  legacy: number;
}

/**
 * A connection to the inference server that sends one digit at a time.
 *
 * Written as Espruino's modules are (MQTT.js: `var mqo = this`): each method
 * names `this` once, as `self`, since every `this.` costs the 6 KB bundle
 * five bytes and there are a hundred of them. Flags are 0 or 1, not
 * booleans, and "none" is 0, not null or "": on Espruino a small integer
 * fits in the property's own variable, anything else takes a second one.
 */
export class TcpClient {
  /** Where the server is; `setServer` on the board changes them. */
  host!: string;
  port!: number;
  /** The token every framed request carries from the next one on: 32 characters, "" for none. */
  token!: string;
  /** 1 when requests go in the earlier protocol; `reset()` after changing it. */
  legacy!: number;
  /** 1 while a request is in flight; `send` refuses another until it ends. */
  busy!: number;
  /** `getTime()` before which callers that poll should not send: the back-off. */
  retryAt!: number;
  /** The current back-off in ms, 0 after a reply. */
  wait!: number;
  /**
   * The request buffer, a framed request, made by the first `digit()` and
   * refilled by every request, in either protocol.
   */
  req!: Uint8Array | 0;
  /** Legacy: a few of the floats at a time, sent one piece after another, and its bytes. */
  private piece!: Float32Array | 0;
  private pieceBytes!: Uint8Array | 0;
  id!: number;
  private sock!: Socket | 0;
  /** 1 while the connection is open. */
  up!: number;
  sentAt!: number;
  /** 1 when the request in flight went on a kept connection (see `onClose`). */
  private kept!: number;
  /** Where the next piece of the request starts; -1 when all of it is written. */
  private at!: number;
  timer!: number;
  /** Why the socket failed, until its `close`; 0 for no reason yet. */
  private why!: string | 0;
  /** The reply being read, and how many bytes of it have come. */
  private buf!: Uint8Array;
  /** Update builds: where the request being sent ends (the whole buffer, or an update request's end). */
  upto!: number;
  /** Update builds: the command of the request in flight (1, inference; 4 and 5, updates). */
  cmd!: number;
  /** Update builds: the next request's command, set by the updater before `send()` (exchange.ts). */
  next!: number;
  private n!: number;
  scores!: Float32Array;
  private onConnect!: Listener;
  private onData!: Listener;
  private onClose!: Listener;
  onTimeout!: Listener;
  /** Update builds: called with every framed reply and the command it answered (`updater.ts`). */
  done!: Listener;
  // Espruino gives every object these; declared, not defined.
  declare on: (event: string, listener: Listener) => void;
  declare emit: (event: string, a?: unknown, b?: unknown, c?: unknown) => void;

  constructor(options: InferenceOptions | 0) {
    const self = this;
    self.host = (options as InferenceOptions).host;
    // No defaults: the firmware gives every option (bytes are budgeted).
    self.port = (options as InferenceOptions).port;
    self.token = (options as InferenceOptions).token;
    // Update builds speak framed only: offers never ride a legacy reply.
    if (!UPDATES) self.legacy = (options as InferenceOptions).legacy;
    // The listeners below keep this scope: without the options object, 8
    // variables less. The connection's state is made by the first request
    // (or `reset()`): absent, it reads as 0.
    options = self.id = 0;
    // Made once: these are every socket's listeners, and an abandoned socket
    // loses them (removeAllListeners), so no stale event reaches a newer one.
    // `onConnect` is also the `drain` listener and what `send` calls on an
    // open connection: each call writes the request's next piece, one piece
    // per event, so the socket's send buffer never holds a copy of the whole
    // request (on the ESP8266 that copy alone is about 100 variables).
    // Legacy pieces are floats, made from the digit's bytes.
    self.onConnect = () => {
      self.up = 1;
      const at = self.at;
      const sock = self.sock;
      // Busy: `send` has made the request buffer.
      const req = self.req as Uint8Array;
      if (!self.busy || at < 0 || !sock) return;
      let next;
      try {
        // A string: write() would send a Uint8Array as its text, "1,2,3".
        if (UPDATES || !self.legacy) {
          // Espruino's subarray does not stop at the end by itself.
          next = Math.min(at + C.CHUNK, UPDATES ? self.upto : REQUEST_SIZE);
          sock.write(E.toString(req.subarray(at, next)));
        } else if (!at) {
          // The legacy head, then the floats of the digit from where it starts.
          next = DIGIT_AT;
          sock.write(atob(LEGACY_HEAD));
        } else {
          let piece = self.piece;
          if (!piece) {
            piece = self.piece = new Float32Array(C.PIECE);
            self.pieceBytes = new Uint8Array(piece.buffer);
          }
          for (let i = 0; i < C.PIECE; i++) piece[i] = req[at + i] / 255;
          next = at + C.PIECE;
          sock.write(E.toString(self.pieceBytes as Uint8Array));
        }
        // The digit ends both requests: framed, the buffer's end; legacy, the last piece's.
        self.at = next < (UPDATES ? self.upto : REQUEST_SIZE) ? next : -1;
      } catch (e) {
        // "This socket is closed": it closed and the event is still queued.
        fail(self, "" + e);
      }
    };
    self.onData = (data: string) => {
      if (!self.busy) return;
      const b = self.buf;
      for (let i = 0; i < data.length && self.n < (UPDATES ? b.length : C.BUFFER); i++) {
        b[self.n++] = data.charCodeAt(i);
      }
      // A legacy reply ends when the server closes the connection.
      if (!UPDATES && self.legacy) return;
      // Frames: a 32-bit little-endian length, then a FlatBuffer with "MNST"
      // at 4 of it, so at least 12 bytes. One shorter than its own start is
      // cut out all the same, and `readReply` finds it cut short.
      while (self.busy && self.n >= C.HEADER + C.MIN_PAYLOAD) {
        const end = C.HEADER + b[0] + b[1] * 256;
        // Longer than any reply of ours (any of the length's two high bytes
        // set, or longer than the buffer), or not ours.
        if (
          b[2] | b[3] || end > (UPDATES ? b.length : C.BUFFER) ||
          (b[8] | b[9] << 8 | b[10] << 16 | b[11] << 24) != C.MAGIC
        ) {
          return fail(self, "not an MNST frame");
        }
        if (self.n < end) return;
        // Counted off first: the updater, called by `settle`, may start the
        // next request (which empties the buffer, `n` 0) before it returns.
        self.n -= end;
        settle(self, b.subarray(C.HEADER, end));
        // What came after the frame moves to the front.
        b.set(b.subarray(end, end + self.n));
      }
    };
    // Also the `error` listener: Espruino emits `error` with the reason, then `close`.
    self.onClose = (e?: { message: string }) => {
      if (e && e.message) {
        self.why = e.message;
        return;
      }
      self.sock = self.up = 0;
      // A close while idle is normal: the next request opens a new connection.
      if (!self.busy) {
        // Nothing in flight.
      } else if (self.kept && !self.n) {
        // The server closed the kept connection (its idle timeout) as the
        // request went out: that is a close while idle, so the request goes
        // again on a new connection, once, without a word or a back-off.
        // (Only framed connections are kept: legacy ones close after a reply.)
        fail(self, "");
        self.send();
      } // A legacy reply ends when the server closes the connection.
      else if (!UPDATES && self.legacy && self.n) settle(self, self.buf.subarray(0, self.n));
      else fail(self, self.why || "connection closed");
      self.why = 0;
    };
    // Update builds give the timer `fail` and its arguments instead (exchange.ts).
    if (!UPDATES) {
      self.onTimeout = () => {
        self.timer = 0;
        fail(self, "no reply");
      };
    }
  }

  /**
   * Closes the connection, if any, and forgets it and any request in flight,
   * silently: the next request opens a new connection. Also for a board that
   * restarts from a saved RAM image, whose socket is dead.
   */
  reset(): void {
    const self = this;
    const sock = self.sock;
    try {
      if (sock) {
        sock.removeAllListeners();
        sock.end();
      }
    } catch (_) {
      // A socket from a saved RAM image may be past closing.
    }
    self.sock =
      self.up =
      self.busy =
      self.why =
      self.timer =
      self.wait =
      self.retryAt =
        0;
    // A board switched from legacy to framed has no use for the legacy piece.
    if (!UPDATES) self.piece = self.pieceBytes = 0;
  }

  /**
   * The digit of the next request, 784 bytes 0..255 to write in place; the
   * first call makes the buffers. Legacy requests carry floats, made from
   * these bytes a piece at a time as they are sent.
   */
  digit(): Uint8Array {
    const self = this;
    let req = self.req;
    if (!req) {
      req = self.req = new Uint8Array(REQUEST_SIZE);
      req.set(E.toUint8Array(atob(REQUEST_HEAD)));
      // Update builds: the request buffer's last bytes, which no update
      // request sends and no reply comes before the request has gone (664
      // bytes: a chunk of 512 and its frame).
      self.buf = UPDATES ? req.subarray(DIGIT_AT + UPDATE_END) : new Uint8Array(C.BUFFER);
      self.scores = new Float32Array(CLASSES);
    }
    return req.subarray(DIGIT_AT);
  }

  /**
   * Sends the digit written into `digit()`; nothing while a request is in
   * flight (`busy`). Ends in one `reply` or one `error` event. Update builds:
   * with `next` set (4, a chunk; 5, a report; framed only) the update request
   * written over it (`updater.ts`), and framed replies then also go to `done`.
   */
  send(): void {
    const self = this;
    if (self.busy) return;
    if (!self.req) self.digit();
    self.n = 0;
    // The id, the token and, on a new connection, who we are (exchange.ts).
    begin(self);
    self.at = 0;
    // Whether it goes on a connection kept from an earlier request.
    self.kept = self.up;
    if (self.up) return self.onConnect();
    if (self.sock) return;
    try {
      // The options object lives only while connecting: a held one costs variables.
      // Quoted: the names `net` reads, which the build does not shorten.
      const sock = self.sock = require("net").connect(
        { "host": self.host, "port": self.port },
        self.onConnect,
      );
      sock.on("drain", self.onConnect);
      sock.on("data", self.onData);
      sock.on("error", self.onClose);
      sock.on("close", self.onClose);
    } catch (e) {
      // Espruino throws here when it cannot even start: refused at once, unknown host.
      fail(self, "" + e);
    }
  }
}
