/**
 * The PROXY protocol, version 2 (HAProxy's `send-proxy-v2`): the binary
 * header a proxy puts before a client's bytes to say who the client is.
 * Read only from `--trusted-proxy` peers; from anyone else the same bytes are
 * just a malformed message.
 *
 * Layout: a 12-byte signature, a version/command byte (0x20 LOCAL, 0x21
 * PROXY), a family/transport byte (0x11 TCP over IPv4, 0x21 TCP over IPv6),
 * a 2-byte big-endian length, then that many bytes: source and destination
 * addresses and ports, then optional TLVs (skipped here).
 *
 * @example
 * ```ts
 * import { parseProxyV2 } from "./proxy_v2.ts";
 *
 * const header = Uint8Array.of(
 *   0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
 *   0x21, 0x11, 0, 12, 10, 0, 0, 7, 10, 0, 0, 1, 0x1f, 0x90, 0x7d, 0x01,
 * );
 * console.log(parseProxyV2(header)); // { length: 28, source: { hostname: "10.0.0.7", port: 8080 } }
 * ```
 * @module
 */
import { Status, WireError } from "../../shared/errors.ts";

/** The 12 bytes every v2 header starts with. */
export const PROXY_V2_SIGNATURE = Uint8Array.of(
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
);
/** The longest header accepted (addresses and TLVs), in bytes after the fixed 16. */
const MAX_BODY = 1024;

/** A parsed header: its length, and the client's address (null for LOCAL or a non-IP family). */
export interface ProxyHeader {
  length: number;
  source: { hostname: string; port: number } | null;
}

/**
 * Reads a v2 header at the start of `bytes`: the header; "absent" when the
 * bytes cannot start one; null when more bytes are needed; or a
 * `MALFORMED_BUFFER` error.
 */
export function parseProxyV2(bytes: Uint8Array): ProxyHeader | "absent" | null | WireError {
  const n = Math.min(bytes.length, 12);
  for (let i = 0; i < n; i++) if (bytes[i] !== PROXY_V2_SIGNATURE[i]) return "absent";
  if (bytes.length < 16) return null;
  const version = bytes[12] >> 4;
  const command = bytes[12] & 0xf;
  if (version !== 2 || command > 1) {
    return new WireError(
      Status.MALFORMED_BUFFER,
      `PROXY header version/command 0x${hex(bytes[12])}`,
    );
  }
  const body = (bytes[14] << 8) | bytes[15];
  if (body > MAX_BODY) {
    return new WireError(Status.MALFORMED_BUFFER, `PROXY header of ${body} bytes is too long`);
  }
  if (bytes.length < 16 + body) return null;
  const length = 16 + body;
  if (command === 0) return { length, source: null }; // LOCAL: the proxy's own connection.
  const family = bytes[13] >> 4;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + 16, body);
  if (family === 1) {
    if (body < 12) return short(body);
    return {
      length,
      source: { hostname: Array.from(bytes.subarray(16, 20)).join("."), port: dv.getUint16(8) },
    };
  }
  if (family === 2) {
    if (body < 36) return short(body);
    return {
      length,
      source: { hostname: formatIpv6(bytes.subarray(16, 32)), port: dv.getUint16(32) },
    };
  }
  return { length, source: null }; // UNSPEC or UNIX: no IP address to use.
}

function short(body: number): WireError {
  return new WireError(
    Status.MALFORMED_BUFFER,
    `PROXY header of ${body} bytes misses its addresses`,
  );
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

/** An IPv6 address as text, shortest form (RFC 5952): longest run of zero groups as `::`. */
export function formatIpv6(ip: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (ip[2 * i] << 8) | ip[2 * i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const text = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (best < 0) return text(groups);
  return `${text(groups.slice(0, best))}::${text(groups.slice(best + bestLen))}`;
}
