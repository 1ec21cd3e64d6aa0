/**
 * CRC-32 as zlib and Espruino's `E.CRC32` compute it (polynomial 0xEDB88320,
 * reflected, initial and final XOR 0xFFFFFFFF): the checksum of a release and
 * of each chunk the server sends, which the board checks with `E.CRC32`.
 *
 * @example
 * ```ts
 * import { crc32 } from "./crc32.ts";
 *
 * console.log(crc32(new TextEncoder().encode("123456789")).toString(16)); // "cbf43926"
 * ```
 * @module
 */

let table: Uint32Array | null = null;

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
}

/** The CRC-32 of `bytes`, an unsigned 32-bit number. */
export function crc32(bytes: ArrayLike<number>): number {
  const t = table ??= makeTable();
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
