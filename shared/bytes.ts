/**
 * Byte arrays joined into one: what a reader that collects chunks, or a
 * writer that sends several messages in one write, needs. Plain loops, no
 * host API, so it runs wherever the codec does.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 *
 * console.log(concatBytes([Uint8Array.of(1, 2), Uint8Array.of(3)])); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 * @module
 */

/** One new array holding `parts` in order. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (let i = 0; i < parts.length; i++) size += parts[i].length;
  const out = new Uint8Array(size);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    out.set(parts[i], at);
    at += parts[i].length;
  }
  return out;
}
