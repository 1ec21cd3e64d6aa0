/**
 * What a load runner (`load.ts`) is asked to do: the protocols it speaks,
 * how a digit travels, and the `LoadPlan` of one share of the clients.
 *
 * @module
 */

/** The protocols. */
export const PROTOCOLS = ["legacy", "framed", "http", "http-binary", "mqtt"] as const;
export type LoadProtocol = typeof PROTOCOLS[number];

/** The HTTP protocols: OIP JSON, and OIP with binary tensors. */
export function isHttp(protocol: LoadProtocol): boolean {
  return protocol === "http" || protocol === "http-binary";
}
/** How a digit travels: 784 floats (3 KiB, the old clients' way) or 784 bytes. */
export const DIGIT_KINDS = ["float", "u8"] as const;
export type DigitKind = typeof DIGIT_KINDS[number];

/** What one runner does. */
export interface LoadPlan {
  hostname: string;
  port: number;
  /** The server's HTTP port (`http` protocol). */
  httpPort: number;
  protocol: LoadProtocol;
  digits: DigitKind;
  /** Framed only: one connection per client for all its requests. */
  keepAlive: boolean;
  /** Send uninitialised-like floats (NaN, ±Infinity, huge) as the old C++ tool did. */
  garbage: boolean;
  /** Clients this runner simulates. */
  clients: number;
  /** The index of its first client among all runners' (it picks the clients' digits). */
  firstClient: number;
  /** Requests per client. */
  requests: number;
  /** No request starts after this many ms. */
  durationMs: number;
  /** A request not answered within this many ms is cut off as `TIMEOUT`. */
  timeoutMs: number;
}
