/**
 * Types of the Espruino APIs the firmware uses, and nothing else: the
 * firmware declares the globals with these types (`declare const E: EspruinoE`)
 * so that TypeScript checks every call, while esbuild emits no code for them.
 * The test harness implements the same interfaces on Deno.
 *
 * Only what the firmware calls is here, as Espruino documents it
 * (https://www.espruino.com/Reference): `net.connect` returns a socket at
 * once and may throw ("Unable to create socket" when a connection is refused
 * on Linux); sockets emit `data` (a binary string), `error`, `end` and
 * `close`; `write` takes a string; every object has `on`, `emit` and
 * `removeAllListeners`, and `emit` queues its listeners rather than calling
 * them at once.
 *
 * @example
 * ```ts
 * import type { EspruinoE, Net } from "./espruino.ts";
 *
 * // On the board, `E` is a global and `net` is `require("net")`.
 * export function send(E: EspruinoE, net: Net, host: string, bytes: Uint8Array): void {
 *   const socket = net.connect({ host, port: 32001 }, () => {
 *     socket.write(E.toString(bytes)); // a string: write(u8) would send "1,2,3"
 *   });
 *   socket.on("data", (data: string) => console.log(E.toUint8Array(data)));
 * }
 * ```
 * @module
 */

// Event listeners take whatever their event carries.
// deno-lint-ignore no-explicit-any
export type Listener = (...args: any[]) => void;

/** What every Espruino object has (`Object.prototype.on` and friends). */
export interface Emitter {
  on(event: string, listener: Listener): void;
  emit(event: string, ...args: unknown[]): void;
  /** Without an event name, removes every listener, the connect callback included. */
  removeAllListeners(event?: string): void;
}

/** A TCP socket from `require("net").connect`. */
export interface Socket extends Emitter {
  /** Sends a string, one byte per character; anything else is sent as its `toString()` text. */
  write(data: string): void;
  /** Closes the socket once what was written (and `data`, if given) has gone out. */
  end(data?: string): void;
}

/** `require("net")`. */
export interface Net {
  connect(options: { host: string; port: number }, onConnect: Listener): Socket;
}

/** `require("Wifi")` on the ESP8266 and ESP32. */
export interface Wifi extends Emitter {
  connect(
    ssid: string,
    options: { password?: string },
    callback: (error: string | null) => void,
  ): void;
  /** The station's addresses; `ip` is missing or "0.0.0.0" while not connected. */
  getIP(): { ip?: string };
}

/** `require("Storage")`: files in the board's flash, kept across resets and power cycles. */
export interface Storage {
  /** The file parsed as JSON; `undefined` when missing (and, with `noExceptions`, when not JSON). */
  readJSON(name: string, noExceptions: boolean): unknown;
  writeJSON(name: string, data: unknown): boolean;
  /**
   * The file's bytes (`length` of them from `offset`, or all) as a string
   * read from flash (no copy in RAM); `undefined` when missing.
   */
  read(name: string, offset?: number, length?: number): string | undefined;
  /**
   * Writes `data` at `offset` of a file of `size` bytes: at offset 0 the file
   * is made anew (its unwritten bytes read as 0xFF); later offsets fill it
   * in. Throws when the bytes there were written already or it runs past
   * `size`. Flash keeps what was written when the power goes.
   */
  write(name: string, data: string | Uint8Array, offset?: number, size?: number): boolean;
}

/** `require("crypto")` (the ESP8266 build has SHA1 only). */
export interface Crypto {
  /** The 20-byte SHA-1 of a string or bytes. */
  SHA1(data: string | Uint8Array): ArrayBuffer;
}

/** The `E` object: Espruino's own utilities. */
export interface EspruinoE extends Emitter {
  /** Bytes as a binary string; a flat-string-backed Uint8Array is returned without a copy. */
  toString(data: Uint8Array | ArrayBuffer): string;
  /** A binary string as bytes (a copy). */
  toUint8Array(data: string): Uint8Array;
  /** The CRC-32 (zlib's) of a string or bytes, unsigned. */
  CRC32(data: string | Uint8Array): number;
}

/** `process` on Espruino: only `memory()` is used. */
export interface EspruinoProcess {
  /** Variables in use (`usage`) of `total`, after a garbage collection. */
  memory(): { usage: number; total: number };
}

/** Globals Espruino does not have: the bundle must not use them, and the harness hides them. */
export const MISSING_GLOBALS = [
  "Map",
  "Set",
  "WeakMap",
  "WeakSet",
  "WeakRef",
  "Symbol",
  "BigInt",
  "Proxy",
  "Reflect",
  "TextEncoder",
  "TextDecoder",
  "queueMicrotask",
  "structuredClone",
];
