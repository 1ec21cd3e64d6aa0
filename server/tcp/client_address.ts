/**
 * Who a board connection's client is, and whether its address may open one
 * more connection. From a `--trusted-proxy` peer the stream may begin with a
 * PROXY protocol v2 header naming the real client; from anyone else (or when
 * the header is absent) the TCP peer is the client. The address then counts
 * against the per-address cap until `release()`.
 *
 * @example
 * ```ts
 * import { ClientAddress } from "./client_address.ts";
 * import { BoardLimits } from "./limits.ts";
 * import { AddressRanges } from "../auth/cidr.ts";
 * import { PROXY_V2_SIGNATURE } from "./proxy_v2.ts";
 *
 * const limits = new BoardLimits({
 *   maxConnections: 100,
 *   maxConnectionsPerAddress: 1,
 *   maxBufferedBytes: 1 << 20,
 *   maxQueued: 64,
 *   minQueueShare: 16,
 * });
 * const trusted = AddressRanges.parse("127.0.0.1/32") as AddressRanges;
 * const proxy = { transport: "tcp", hostname: "127.0.0.1", port: 41000 } as const;
 * // HAProxy's header for the board 10.0.0.7:8080, then the board's own first bytes.
 * const header = Uint8Array.of(
 *   ...PROXY_V2_SIGNATURE, 0x21, 0x11, 0, 12, 10, 0, 0, 7, 10, 0, 0, 1, 0x1f, 0x90, 0x7d, 0x01,
 * );
 * const client = new ClientAddress(proxy, trusted, limits);
 * const rest = client.take(Uint8Array.of(...header, 1, 2, 3)); // the bytes after the header
 * console.log(client.peer, rest); // 10.0.0.7:8080 Uint8Array(3) [ 1, 2, 3 ]
 * console.log(client.admit()); // null: the address is under its cap
 * const second = new ClientAddress(proxy, trusted, limits);
 * second.take(header);
 * console.log(second.admit()?.reason); // max-per-address
 * client.release(); // at close
 * ```
 * @module
 */
import { Status, WireError } from "../../shared/errors.ts";
import type { AddressRanges } from "../auth/cidr.ts";
import type { BoardLimits, PendingRefusal } from "./limits.ts";
import { parseProxyV2, PROXY_V2_SIGNATURE } from "./proxy_v2.ts";

/** The client of one connection. */
export class ClientAddress {
  /** `host:port` of the client, for logs and observers. */
  peer: string;
  /** The client's address, as counted against the per-address cap. */
  host: string;
  /** Whether a PROXY header may still come (a trusted peer's first bytes). */
  awaitingHeader: boolean;
  #limits: BoardLimits;
  #counted = false;
  /** The socket's own peer (a proxy's, when a header named the client). */
  #socketHost: string;

  constructor(remote: Deno.NetAddr, trusted: AddressRanges | null, limits: BoardLimits) {
    this.host = this.#socketHost = remote.hostname;
    this.peer = `${remote.hostname}:${remote.port}`;
    this.awaitingHeader = trusted?.has(remote.hostname) ?? false;
    this.#limits = limits;
  }

  /**
   * Reads a PROXY v2 header off the start of the stream while one may come:
   * the bytes after it (all of `head` when there is none), null while more
   * are needed, or a `MALFORMED_BUFFER` error.
   */
  take(head: Uint8Array): Uint8Array | null | WireError {
    if (!this.awaitingHeader) return head;
    const header = parseProxyV2(head);
    if (header === null || header instanceof WireError) return header;
    this.awaitingHeader = false;
    if (header === "absent") return head;
    if (header.source) {
      this.host = header.source.hostname;
      const host = this.host.includes(":") ? `[${this.host}]` : this.host;
      this.peer = `${host}:${header.source.port}`;
    }
    return head.subarray(header.length);
  }

  /**
   * A PROXY v2 header at the start of `head` from a peer that may not send
   * one (not a `--trusted-proxy`): the error that says so, else null.
   */
  strayHeader(head: Uint8Array): WireError | null {
    if (head.length < PROXY_V2_SIGNATURE.length || parseProxyV2(head) === "absent") return null;
    return new WireError(
      Status.MALFORMED_BUFFER,
      this.#socketHost === this.host
        ? `a PROXY protocol header from ${this.host}, which is not a --trusted-proxy`
        : `a second PROXY protocol header from ${this.#socketHost}: one comes per connection`,
    );
  }

  /** Counts the connection against its address's cap: null, or the refusal when the cap is reached. */
  admit(): PendingRefusal | null {
    if (this.#limits.addAddress(this.host)) {
      this.#counted = true;
      return null;
    }
    const cap = this.#limits.options.maxConnectionsPerAddress;
    return {
      reason: "max-per-address",
      error: new WireError(
        Status.SERVER_BUSY,
        `${this.host} already has ${cap} connections open, the most one address may have`,
      ),
    };
  }

  /** Gives the address's place back (once the connection has closed). */
  release(): void {
    if (this.#counted) this.#limits.removeAddress(this.host);
    this.#counted = false;
  }
}
