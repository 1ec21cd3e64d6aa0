/**
 * Reads a PROXY protocol version 2 header: the binary preamble HAProxy
 * (`send-proxy-v2`) and other load balancers put at the start of a TCP
 * connection to say whose connection it really is. Pure: bytes in, a result
 * out; the connection decides what to do with it (and accepts a header only
 * from a trusted proxy).
 *
 * Layout (haproxy's doc/proxy-protocol.txt, section 2.2): a 12-byte
 * signature, a version/command byte (0x21 PROXY, 0x20 LOCAL), a
 * family/transport byte, a big-endian length of what follows, the addresses
 * (IPv4: 12 bytes, IPv6: 36, UNIX: 216), then optional TLVs, which are
 * skipped.
 *
 * @example
 * ```ts
 * import { parseProxyV2 } from "./proxy_v2.ts";
 *
 * const bytes = new Uint8Array(0); // what the connection read so far
 * const header = parseProxyV2(bytes);
 * if (header.type === "proxy") console.log(header.source, header.length);
 * else if (header.type === "incomplete") console.log("read more");
 * else console.log(header.code, header.message);
 * ```
 * @module
 */

/** The 12 bytes every version 2 header starts with. */
export const PROXY_V2_SIGNATURE = new Uint8Array([
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
]);

/** Signature, version/command, family, length. */
const FIXED = 16;
/** Largest header accepted: the fixed part plus a length field's worth (TLVs included). */
export const PROXY_V2_MAX_LENGTH = FIXED + 65535;

/** The error code a bad header gets in logs and metrics. */
export const BAD_PROXY_HEADER = "BAD_PROXY_HEADER";

/** An address and port as the header gives them. */
export interface ProxyAddress {
  hostname: string;
  port: number;
}

/** What `parseProxyV2` found. */
export type ProxyV2Result =
  | {
    type: "proxy";
    /** The client's address; null for a LOCAL header (the proxy's own health check) or UNSPEC family. */
    source: ProxyAddress | null;
    destination: ProxyAddress | null;
    /** Bytes the header takes: the connection's own data starts after them. */
    length: number;
  }
  | { type: "incomplete" }
  | { type: "error"; code: typeof BAD_PROXY_HEADER; message: string };

function error(message: string): ProxyV2Result {
  return { type: "error", code: BAD_PROXY_HEADER, message };
}

/** Whether `bytes` could be the start of a PROXY v2 header (all of it matches the signature so far). */
export function startsLikeProxyV2(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, PROXY_V2_SIGNATURE.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== PROXY_V2_SIGNATURE[i]) return false;
  return true;
}

function ipv4(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/** An IPv6 address in its canonical text (RFC 5952: lower case, longest zero run as `::`). */
function ipv6(bytes: Uint8Array, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[at + 2 * i] << 8) | bytes[at + 2 * i + 1]);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const text = (from: number, to: number) =>
    groups.slice(from, to).map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return text(0, 8);
  return `${text(0, bestStart)}::${text(bestStart + bestLength, 8)}`;
}

function port(bytes: Uint8Array, at: number): number {
  return (bytes[at] << 8) | bytes[at + 1];
}

/**
 * Parses the PROXY v2 header at the start of `bytes`: `incomplete` while
 * more bytes are needed, `error` when they are not a valid header.
 */
export function parseProxyV2(bytes: Uint8Array): ProxyV2Result {
  if (!startsLikeProxyV2(bytes)) {
    return error("the connection did not start with a PROXY v2 header");
  }
  if (bytes.length < FIXED) return { type: "incomplete" };
  const versionCommand = bytes[12];
  if (versionCommand >> 4 !== 2) {
    return error(`PROXY header version ${versionCommand >> 4}, expected 2`);
  }
  const command = versionCommand & 0x0f;
  if (command > 1) {
    return error(`PROXY header command ${command} is neither LOCAL (0) nor PROXY (1)`);
  }
  const family = bytes[13] >> 4;
  const transport = bytes[13] & 0x0f;
  const length = (bytes[14] << 8) | bytes[15];
  if (bytes.length < FIXED + length) return { type: "incomplete" };
  const total = FIXED + length;
  // LOCAL: the proxy speaks for itself (health checks); the addresses, if any, are ignored.
  if (command === 0 || family === 0) {
    return { type: "proxy", source: null, destination: null, length: total };
  }
  if (transport !== 1) {
    return error(`PROXY header transport ${transport} is not STREAM (1)`);
  }
  const at = FIXED;
  if (family === 1) {
    if (length < 12) return error(`PROXY header for IPv4 has ${length} address bytes, needs 12`);
    return {
      type: "proxy",
      source: { hostname: ipv4(bytes, at), port: port(bytes, at + 8) },
      destination: { hostname: ipv4(bytes, at + 4), port: port(bytes, at + 10) },
      length: total,
    };
  }
  if (family === 2) {
    if (length < 36) return error(`PROXY header for IPv6 has ${length} address bytes, needs 36`);
    return {
      type: "proxy",
      source: { hostname: ipv6(bytes, at), port: port(bytes, at + 32) },
      destination: { hostname: ipv6(bytes, at + 16), port: port(bytes, at + 34) },
      length: total,
    };
  }
  if (family === 3) {
    // A UNIX socket has no address a per-address limit could use.
    if (length < 216) return error(`PROXY header for UNIX has ${length} address bytes, needs 216`);
    return { type: "proxy", source: null, destination: null, length: total };
  }
  return error(`PROXY header address family ${family} is unknown`);
}
