/**
 * What the listener Workers (`--listeners N`) are started with, and the
 * check that this Deno can start them: `reusePort` needs `--unstable-net`.
 *
 * @example
 * ```ts
 * import { bindDeadlines, hasUnstableNet, type ListenerOptions } from "./listener_options.ts";
 * import { Logger } from "../log.ts";
 *
 * const options: ListenerOptions = {
 *   hostname: "127.0.0.1", port: 0, log: new Logger("error"),
 *   limits: { maxConnections: 100, maxConnectionsPerAddress: 100, maxBufferedBytes: 1 << 20,
 *     maxQueued: 64, minQueueShare: 16 },
 *   trustedProxies: null, maxFrame: 16 * 1024, maxLegacy: 64 * 1024, readTimeoutMs: 5_000,
 *   idleTimeoutMs: 60_000, writeTimeoutMs: 10_000, maxPipelined: 256, listenerTimeoutMs: 5_000,
 * };
 * console.log(bindDeadlines(options)); // { startMs: 30000, silentMs: 5000 }
 * console.log(typeof hasUnstableNet()); // boolean
 * ```
 * @module
 */
import type { AddressRanges } from "../auth/cidr.ts";
import type { Logger } from "../log.ts";
import type { TlsFiles } from "../tls/tls.ts";
import type { ConnectionSettings } from "../tcp/connection_settings.ts";
import type { LimitOptions } from "../tcp/limits.ts";
import { type BindDeadlines, LISTENER_START_TIMEOUT_MS } from "./worker_start.ts";

/** What the listener Workers are started with: the board port's connection settings. */
export interface ListenerOptions extends ConnectionSettings {
  hostname: string;
  port: number;
  log: Logger;
  limits: LimitOptions;
  trustedProxies: AddressRanges | null;
  /** The TLS board port (`--tls-port`), served by the Workers too; absent: none. */
  tls?: TlsFiles & { port: number };
  /**
   * `--listener-timeout-ms`: a Worker silent this long is given up, while it
   * serves (`ListenerLiveness`) as while it starts (`bind`); absent: not checked.
   */
  listenerTimeoutMs?: number;
  /** The Workers' script, `listener_worker.ts` when absent (a test runs one that imports it and can block). */
  workerUrl?: URL;
  /**
   * How long a new Worker may take to load its code, ms
   * (`LISTENER_START_TIMEOUT_MS` when absent; with `listenerTimeoutMs` only).
   */
  startTimeoutMs?: number;
}

/** The sentence `--listeners` above 1 fails with when Deno runs without `--unstable-net`. */
export const NEEDS_UNSTABLE_NET =
  "--listeners above 1 needs Deno's --unstable-net flag (deno run --unstable-net ...), for reusePort";

/** Whether this Deno runs with `--unstable-net` (which `reusePort` needs). */
export function hasUnstableNet(): boolean {
  return "listenDatagram" in Deno;
}

/** How long a bind waits for its Worker: none without `listenerTimeoutMs`. */
export function bindDeadlines(options: ListenerOptions): BindDeadlines | undefined {
  const silentMs = options.listenerTimeoutMs;
  if (!silentMs) return undefined;
  return { startMs: options.startTimeoutMs ?? LISTENER_START_TIMEOUT_MS, silentMs };
}
