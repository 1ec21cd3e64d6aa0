/**
 * What the board does with a request whatever carries it (TCP in
 * `tcp_client.ts`, MQTT in `mqtt_client.ts`): fill in the request's id,
 * token and names, read the reply, and end the request with a back-off on
 * failure. Functions over the transport's object rather than methods of a
 * base class: in the 6 KB bundle a function costs no more than a method,
 * and a base class costs its `extends` and `super` calls.
 *
 * The request buffer is the framed request the build laid out
 * (`request.ts`); the id, the token and, on a connection's first request,
 * `client` and `device` are written into it in place. Replies are read by
 * `shared/board_reply.ts`; server errors are named as the shared
 * `WireError` names them.
 *
 * @example
 * ```ts
 * import { type Exchange, fail } from "./exchange.ts";
 *
 * // In a transport, when its connection breaks mid-request:
 * export function broken(transport: Exchange): void {
 *   fail(transport, "connection closed"); // one `error` event; the next request waits 1 s
 * }
 * ```
 * @module
 */
import { readReply, type ReplyFields } from "../shared/board_reply.ts";
import type { Listener } from "./espruino.ts";

// Fixed at build time (see build.ts): the request's layout.
declare const ID_AT: number;
declare const TOKEN_AT: number;
declare const TOKEN_LENGTH: number;
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
declare const DEVICE_SLOT_AT: number;
declare const DEVICE_SLOT: number;
declare function getSerial(): string;
/** True in an MQTT build, where the topic names the device and there is no legacy. */
declare const MQTT: boolean;
/** True in a build with updates over the air (`--updates`, see `updater.ts`); TCP only. */
declare const UPDATES: boolean;
// The update request laid over the same buffer (request.ts `UpdateLayout`).
declare const REQUEST_SIZE: number;
declare const DIGIT_AT: number;
declare const CMD_AT: number;
declare const INPUT_SLOT_AT: number;
declare const INPUT_SLOT: number;
declare const ERROR_SLOT_AT: number;
declare const ERROR_SLOT: number;
declare const UPDATE_SLOT_AT: number;
declare const UPDATE_SLOT: number;
declare const CHUNK_SLOT_AT: number;
declare const CHUNK_SLOT: number;
/** From the digit's first byte: where an update request ends. */
declare const UPDATE_END: number;
/** Seconds since the board started, with sub-millisecond resolution. */
declare function getTime(): number;
// Espruino's timers pass the arguments after `ms` on to the callback.
declare function setTimeout(callback: Listener, ms: number, a?: unknown, b?: unknown): number;
declare function clearTimeout(id: number): void;

/** Times in ms. A `const enum`: inlined, no variables on the board. */
const enum C {
  /** A reply later than this (ms) means the connection is broken. */
  TIMEOUT = 5000,
  /** The first wait after a failure; it doubles with each failure in a row. */
  BACKOFF = 1000,
  BACKOFF_MAX = 30000,
}

/** What a transport's object has for these functions (flags 0 or 1, "none" 0). */
export interface Exchange {
  /** The token every request carries from the next one on: 32 characters, "" for none. */
  token: string;
  /** 1 while a request is in flight. */
  busy: number;
  /** `getTime()` before which callers that poll should not send: the back-off. */
  retryAt: number;
  /** The current back-off in ms, 0 after a reply. */
  wait: number;
  /** The request buffer (a framed request), made by the first `digit()`. */
  req: Uint8Array | 0;
  /** The last request's id. */
  id: number;
  /** 1 when the connection has carried a request already: `client` and `device` go on the first. */
  up: number;
  sentAt: number;
  timer: number;
  scores: Float32Array;
  /** 1 when requests go in the earlier protocol (TCP only): its replies have no id. */
  legacy?: number;
  /** Update builds: where the request being sent ends, and its command (1, inference; 4 and 5, updates). */
  upto?: number;
  cmd?: number;
  /**
   * Update builds: the command of the next request, set by the updater just
   * before `send()` (4, a chunk; 5, a report), 0 for inference. A property,
   * not an argument of `send`: a parameter costs every build a variable on
   * the board for good.
   */
  next?: number;
  /** Update builds: what takes every framed reply and the command it answered (the updater). */
  done?: Listener;
  /** TCP: `fail(self, "no reply")`, made once (MQTT and update builds pass `fail` its arguments instead). */
  onTimeout?: Listener;
  /** Forgets the connection and any request in flight. */
  reset(): void;
  emit: (event: string, a?: unknown, b?: unknown, c?: unknown) => void;
}

/**
 * Starts a request: marks it in flight, fills in the request's id, token and
 * names, and starts its timer. Update builds: with `next` set (4, a chunk;
 * 5, a report), the update request written over the digit (`updater.ts`).
 */
export function begin(self: Exchange): void {
  const req = self.req as Uint8Array;
  if (UPDATES) {
    // The same buffer either way: the frame's length, the command, and which
    // of the input or the update tables the root table names.
    const cmd = self.next;
    self.next = 0;
    const end = self.upto = cmd ? DIGIT_AT + UPDATE_END : REQUEST_SIZE;
    req[0] = end - 4;
    // (end - 4) >> 8, as neither end (296, 960) has a low byte under 4.
    req[1] = end >> 8;
    self.cmd = req[CMD_AT] = cmd || 1;
    req[INPUT_SLOT_AT] = cmd ? 0 : INPUT_SLOT;
    req[ERROR_SLOT_AT] = cmd ? ERROR_SLOT : 0;
    req[UPDATE_SLOT_AT] = cmd ? UPDATE_SLOT : 0;
    req[CHUNK_SLOT_AT] = cmd ? CHUNK_SLOT : 0;
  }
  // Legacy requests send none of these bytes: filling them costs nothing.
  // The id: ids start at 1, as a reply without one decodes as 0. The
  // token, when there is one (the field is left out otherwise), and who we
  // are, on a connection's first request only: the firmware (`client`)
  // and, without a token (which names the board), the board's serial as
  // `device`, written where the token's characters go. Spaces pad a serial
  // (`charCodeAt` past its end is NaN) and leave nothing of an earlier
  // token; the server drops them. One loop writes both: bytes are budgeted.
  const id = ++self.id;
  const token = self.token;
  const text = token || getSerial();
  for (let i = 0; i < TOKEN_LENGTH; i++) {
    req[TOKEN_AT + i] = text.charCodeAt(i) || 32;
    if (i < 4) req[ID_AT + i] = id >>> 8 * i; // little-endian
  }
  req[TOKEN_SLOT_AT] = token ? TOKEN_SLOT : 0;
  req[CLIENT_SLOT_AT] = self.up ? 0 : CLIENT_SLOT;
  // Over MQTT the topic names the device.
  req[DEVICE_SLOT_AT] = MQTT || token || self.up ? 0 : DEVICE_SLOT;
  self.busy = 1;
  self.sentAt = getTime();
  // No reply in time. MQTT and update builds, short of bytes and of
  // variables at start-up, make no function for it: `fail` itself, with its
  // arguments held by the timer while the request is out (clearing a timer
  // from its own callback is harmless: Espruino removes it after the call).
  // The other TCP builds, short of them in flight, keep one made at start-up.
  self.timer = MQTT || UPDATES
    ? setTimeout(fail, C.TIMEOUT, self, "no reply")
    : setTimeout(self.onTimeout as Listener, C.TIMEOUT);
}

/**
 * A reply's payload has come: ends the request with one `reply` or `error`
 * event; update builds then call `done(reply, cmd)` for the updater.
 */
export function settle(self: Exchange, bytes: Uint8Array): void {
  // Or a sentence, which has a length (a reply has none): not a reply.
  const r = readReply(bytes, self.scores) as ReplyFields & { length?: number };
  if (r.length) return fail(self, r as unknown as string);
  // A reply to an earlier request (on a newer connection, or after its timeout): skip it.
  if ((MQTT || UPDATES || !self.legacy) && r.id != self.id) return;
  fail(self, "");
  if (r.status) {
    self.emit(
      "error",
      // A status newer than the firmware shows as its number.
      "Server: " + (STATUS_NAMES.split(" ")[r.status] || r.status) + ": " + r.error,
    );
  } else if (!UPDATES || (r.cmd as number) < 3) {
    self.emit("reply", self.scores, r.ms, (getTime() - self.sentAt) * 1000);
  }
  // For the updater: every framed reply, an offer or a chunk in it.
  // Called, not emitted: an emitted event would hold the reply until it ran.
  if (UPDATES) (self.done as Listener)(r, self.cmd);
}

/**
 * Ends the request in flight. With a `message`, a failure: also drops the
 * connection, waits longer before the next request and says so.
 */
export function fail(self: Exchange, message: string): void {
  self.busy = 0;
  // clearTimeout() with no id would clear every timer on the board.
  if (self.timer) clearTimeout(self.timer);
  self.timer = 0;
  if (!message) {
    self.wait = self.retryAt = 0;
    return;
  }
  const wait = Math.min(2 * self.wait || C.BACKOFF, C.BACKOFF_MAX);
  self.reset();
  self.wait = wait;
  self.retryAt = getTime() + wait / 1000;
  self.emit("error", "Server: " + message + "; retry in " + wait / 1000 + " s");
}
