/**
 * The HTTP client's address behind a trusted load balancer: a connection from
 * a `--trusted-proxy` peer (HAProxy with `option forwardfor`) is the client
 * the last `X-Forwarded-For` entry names, the address that proxy saw, as a
 * board connection from such a peer is the client its PROXY v2 header names.
 * From any other peer the header is ignored: a client cannot name itself
 * another address. Its port is 0: the header carries none.
 *
 * @example
 * ```ts
 * import { clientPeer } from "./forwarded.ts";
 * import { AddressRanges } from "../auth/cidr.ts";
 *
 * const trusted = AddressRanges.parse("10.0.0.5") as AddressRanges;
 * const headers = new Headers({ "x-forwarded-for": "203.0.113.9, 192.0.2.1" });
 * const proxy = { transport: "tcp" as const, hostname: "10.0.0.5", port: 40000 };
 * console.log(clientPeer(proxy, headers, trusted)); // 192.0.2.1:0
 * console.log(clientPeer({ ...proxy, hostname: "10.0.0.6" }, headers, trusted)); // 10.0.0.6:40000
 * ```
 * @module
 */
import { isIP } from "node:net";
import type { AddressRanges } from "../auth/cidr.ts";

/** `host:port` of the client: the connection's peer, or the one a trusted proxy forwarded for. */
export function clientPeer(
  remote: Deno.NetAddr,
  headers: Headers,
  trusted: AddressRanges | null,
): string {
  if (trusted !== null && trusted.has(remote.hostname)) {
    const forwarded = headers.get("x-forwarded-for");
    if (forwarded !== null) {
      const last = forwarded.slice(forwarded.lastIndexOf(",") + 1).trim();
      const family = isIP(last);
      if (family === 4) return `${last}:0`;
      if (family === 6) return `[${last}]:0`;
    }
  }
  return `${remote.hostname}:${remote.port}`;
}
