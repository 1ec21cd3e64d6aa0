/**
 * The property names the firmware's minifier may shorten, kept apart from
 * the build so that the list is read (and grown) in one place.
 *
 * @example
 * ```ts
 * import { MANGLED, OWN_PROPERTIES } from "./mangled_properties.ts";
 *
 * console.log(OWN_PROPERTIES.includes("busy"), MANGLED.test("busy")); // true true
 * ```
 * @module
 */

/**
 * Property names the minifier shortens (esbuild `mangleProps`): the bundle's
 * own, from the shared codec and the firmware, which nothing outside the
 * bundle reads. Never a name Espruino reads or calls (`message`, `end`,
 * `write`, `push`, `length`...) nor one the REPL uses (`test`, `start`,
 * `stop`, `VERSION`). A name left out is merely longer. Where such a name is
 * also one of these (`host` and `port` of `net.connect`, the keys of the
 * settings in Storage), the source quotes it there: esbuild never shortens a
 * quoted name.
 */
export const OWN_PROPERTIES = [
  // the connection's settings (quoted where `net` or Storage reads them)
  "host",
  "port",
  "token",
  // shared/errors.ts WireError (not `message`: Espruino's errors have one)
  "code",
  // shared/frame.ts FrameDecoder (not `start`, `end`, `push`)
  "buf",
  "max",
  "buffered",
  "next",
  "reset",
  // device/tcp_client.ts, exchange.ts (not `device`: a key in Storage)
  "legacy",
  "piece",
  "pieceBytes",
  "busy",
  "retryAt",
  "wait",
  "req",
  "id",
  "sock",
  "up",
  "sentAt",
  "timer",
  "why",
  "digit",
  "n",
  "onConnect",
  "onData",
  "onClose",
  "onTimeout",
  "done",
  "pump",
  "at",
  "kept",
  "send",
  "data",
  "reply",
  "fail",
  "scores",
  "upto",
  "cmd",
  "next",
  // device/mqtt_client.ts
  "ticker",
  "pinged",
  "head",
  "len",
  "onWrite",
  "onTick",
  // shared/board_reply.ts
  "status",
  "error",
  "ms",
  "offer",
  "crc",
];

/** `OWN_PROPERTIES` as esbuild's `mangleProps`: whole names only. */
export const MANGLED: RegExp = new RegExp(`^(${OWN_PROPERTIES.join("|")})$`);
