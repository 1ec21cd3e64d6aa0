/**
 * Espruino's binary strings: one character per byte (code 0-255), the way
 * the board's sockets, `E.toString` and Storage hold bytes.
 *
 * @example
 * ```ts
 * import { binary, bytesOf } from "./_harness_binary.ts";
 *
 * console.log(binary(Uint8Array.of(104, 105))); // hi
 * console.log(bytesOf("hi\xff")); // Uint8Array(3) [ 104, 105, 255 ]
 * ```
 * @module
 */

/** `bytes` as a binary string. */
export function binary(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** A binary string's bytes (each character's low 8 bits). */
export function bytesOf(s: string): Uint8Array {
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i) & 255;
  return bytes;
}
