/**
 * A board connection's sizes and deadlines (`ConnectionSettings`): the same
 * in process and in a listener Worker, which gets them by `connectionSettings`.
 *
 * - A whole message gets `readTimeoutMs` from its first byte (dripping it
 *   does not extend it); past it the client gets `MALFORMED_BUFFER` and a
 *   close. A connection that sends nothing at all is closed after
 *   `readTimeoutMs`; a framed one with no message under way after
 *   `idleTimeoutMs` (boards may poll rarely: minutes).
 * - A reply whose write makes no progress for `writeTimeoutMs` aborts the
 *   connection (a client that sends and never reads).
 * - A framed client with `maxPipelined` replies outstanding is not read
 *   again until it reads some of them.
 *
 * @example
 * ```ts
 * import { connectionSettings } from "./connection_settings.ts";
 *
 * const options = {
 *   port: 32001,
 *   maxFrame: 16 * 1024,
 *   maxLegacy: 64 * 1024,
 *   readTimeoutMs: 5_000,
 *   idleTimeoutMs: 60_000,
 *   writeTimeoutMs: 10_000,
 *   maxPipelined: 256,
 * };
 * console.log("port" in connectionSettings(options)); // false
 * ```
 * @module
 */

/** A connection's sizes and deadlines: the same in process and in a listener Worker. */
export interface ConnectionSettings {
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
}

/** `settings`' own `ConnectionSettings`, for passing them on (to a Worker, into a context). */
export function connectionSettings(settings: ConnectionSettings): ConnectionSettings {
  const { maxFrame, maxLegacy, readTimeoutMs, idleTimeoutMs, writeTimeoutMs, maxPipelined } =
    settings;
  return { maxFrame, maxLegacy, readTimeoutMs, idleTimeoutMs, writeTimeoutMs, maxPipelined };
}
