/**
 * Address ranges from the command line (`--legacy-from`, `--trusted-proxy`):
 * a comma-separated list of IPv4 and IPv6 CIDRs or single addresses, matched
 * with Node's `BlockList` (which also matches an IPv4-mapped IPv6 address,
 * `::ffff:10.0.0.7`, against IPv4 ranges, as a dual-stack listener reports them).
 *
 * @example
 * ```ts
 * import { AddressRanges } from "./cidr.ts";
 *
 * const ranges = AddressRanges.parse("10.0.0.0/8, fd00::/8, 127.0.0.1");
 * if (ranges instanceof Error) throw ranges;
 * console.log(ranges.has("10.1.2.3"), ranges.has("::ffff:10.1.2.3"), ranges.has("192.168.0.1"));
 * // true true false
 * ```
 * @module
 */
import { BlockList, isIP } from "node:net";

/** A list of address ranges; `has()` tells whether an address falls in any. */
export class AddressRanges {
  /** The ranges as given, normalised to `ADDRESS/PREFIX`. */
  readonly ranges: readonly string[];
  #list: BlockList;

  private constructor(list: BlockList, ranges: string[]) {
    this.#list = list;
    this.ranges = ranges;
  }

  /** No ranges at all: `has()` is always false. */
  static empty(): AddressRanges {
    return new AddressRanges(new BlockList(), []);
  }

  /**
   * Parses `"CIDR,CIDR,..."` (blank entries ignored; an address alone is a
   * /32 or /128). Returns an `Error` whose message names the bad entry.
   */
  static parse(text: string): AddressRanges | Error {
    const list = new BlockList();
    const ranges: string[] = [];
    for (const raw of text.split(",")) {
      const entry = raw.trim();
      if (entry === "") continue;
      const slash = entry.indexOf("/");
      const address = slash < 0 ? entry : entry.slice(0, slash);
      const family = isIP(address);
      if (family === 0) return new Error(`"${entry}" is not an IPv4 or IPv6 address or CIDR`);
      const bits = family === 4 ? 32 : 128;
      const prefixText = slash < 0 ? String(bits) : entry.slice(slash + 1);
      const prefix = Number(prefixText);
      if (!/^\d+$/.test(prefixText) || prefix > bits) {
        return new Error(`"${entry}": the prefix length must be 0..${bits}`);
      }
      list.addSubnet(address, prefix, family === 4 ? "ipv4" : "ipv6");
      ranges.push(`${address}/${prefix}`);
    }
    return new AddressRanges(list, ranges);
  }

  /** Whether `address` (as `Deno.NetAddr.hostname` gives it) is in a range; false for a non-address. */
  has(address: string): boolean {
    // A scoped IPv6 address (fe80::1%eth0) matches as its address.
    const bare = address.replace(/%.*$/, "").replace(/^\[(.*)\]$/, "$1");
    const family = isIP(bare);
    if (family === 0) return false;
    return this.#list.check(bare, family === 4 ? "ipv4" : "ipv6");
  }

  get size(): number {
    return this.ranges.length;
  }
}
