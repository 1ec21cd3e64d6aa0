/**
 * IP address blocks (`10.0.0.0/8`, `fd00::/8`, or one address) and whether
 * an address is in one: for `--trusted-proxy`. An IPv4-mapped IPv6 address
 * (`::ffff:10.1.2.3`) matches IPv4 blocks.
 *
 * @example
 * ```ts
 * import { parseCidrList } from "./cidr.ts";
 *
 * const trusted = parseCidrList("127.0.0.1/32,10.0.0.0/8");
 * if (typeof trusted === "string") throw new Error(trusted);
 * console.log(trusted.has("10.1.2.3"), trusted.has("192.168.0.1")); // true false
 * ```
 * @module
 */

/** The 4 or 16 bytes of an address, or null when `text` is not one. */
export function parseIp(text: string): Uint8Array | null {
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  if (!text.includes(":")) return parseIpv4(text);
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  let tail: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    tail = parseIpv4(text.slice(lastColon + 1));
    if (!tail) return null;
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i])) return null;
    const v = parseInt(all[i], 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    return null;
  }
  return Uint8Array.from(parts.map(Number));
}

/** An IPv4-mapped IPv6 address as its 4 IPv4 bytes; anything else as it is. */
function unmap(ip: Uint8Array): Uint8Array {
  if (ip.length !== 16) return ip;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return ip;
  return ip[10] === 0xff && ip[11] === 0xff ? ip.subarray(12) : ip;
}

interface Block {
  ip: Uint8Array;
  bits: number;
}

/** A list of address blocks. */
export class CidrList {
  #blocks: Block[];

  constructor(blocks: Block[]) {
    this.#blocks = blocks;
  }

  get size(): number {
    return this.#blocks.length;
  }

  /** Whether `address` (text, as in `Deno.NetAddr.hostname`) is in one of the blocks. */
  has(address: string): boolean {
    const parsed = parseIp(address);
    if (!parsed) return false;
    const ip = unmap(parsed);
    return this.#blocks.some((b) => b.ip.length === ip.length && inBlock(ip, b));
  }
}

function inBlock(ip: Uint8Array, { ip: net, bits }: Block): boolean {
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (ip[i] !== net[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (ip[i] & mask) === (net[i] & mask);
}

/** Parses `CIDR,CIDR,...` (a bare address is a block of one); a sentence when one is not valid. */
export function parseCidrList(text: string): CidrList | string {
  const blocks: Block[] = [];
  for (const item of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const [addr, prefix, extra] = item.split("/");
    const parsed = parseIp(addr);
    if (!parsed || extra !== undefined) return `"${item}" is not an address or CIDR block`;
    const ip = unmap(parsed);
    const max = ip.length * 8;
    const bits = prefix === undefined
      ? max
      : /^\d+$/.test(prefix)
      ? Number(prefix) - (parsed.length - ip.length) * 8
      : NaN;
    if (!(bits >= 0 && bits <= max)) return `"${item}" has a prefix length out of range`;
    blocks.push({ ip, bits });
  }
  return new CidrList(blocks);
}
