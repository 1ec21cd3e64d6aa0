/**
 * What becomes of the connections waiting in a listener Worker's accept
 * queue when its socket closes (a Worker that failed, or a hung one once it
 * stopped). The Workers' sockets share one port (`reusePort`), and the kernel
 * hands each new connection to one of them before it is accepted. By
 * default Linux resets the connections still queued on a socket that closes.
 * With `net.ipv4.tcp_migrate_req=1` (Linux 5.14 and later) it moves them to
 * another socket of the port, so a board connecting at that moment is
 * served by the other Workers instead of losing its request.
 *
 * The server reads the setting when it starts listener Workers and warns
 * when it is off; it cannot set it (a system setting: `sysctl`,
 * `deploy/60-mnist-server.conf`).
 *
 * @example
 * ```ts
 * import { queuedConnectionsMove } from "./queued_connections.ts";
 *
 * // true or false on Linux, null where the setting cannot be read
 * console.log([true, false, null].includes(queuedConnectionsMove()));
 * ```
 * @module
 */
import type { Logger } from "../log.ts";

/** Linux's setting: "1" moves a closed socket's queued connections to another of its port. */
export const MIGRATE_REQ_PATH = "/proc/sys/net/ipv4/tcp_migrate_req";

/**
 * Whether the kernel moves a closed listener socket's queued connections to
 * the others of its port; null where that cannot be read (not Linux, an
 * older kernel, or no permission to read the setting: nothing is prompted).
 */
export function queuedConnectionsMove(path = MIGRATE_REQ_PATH): boolean | null {
  if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return null;
  try {
    return Deno.readTextFileSync(path).trim() !== "0";
  } catch {
    return null;
  }
}

/** The warning `warnUnlessQueuedConnectionsMove` logs when the setting is off. */
export const QUEUED_CONNECTIONS_RESET =
  "connections waiting in a listener Worker's queue are reset when it stops " +
  "(net.ipv4.tcp_migrate_req is 0); set it to 1 to move them to the other Workers";

/** At a start of listener Workers: warns, once, when their queued connections would be reset. */
export function warnUnlessQueuedConnectionsMove(log: Logger, path = MIGRATE_REQ_PATH): void {
  if (queuedConnectionsMove(path) === false) {
    log.warn(QUEUED_CONNECTIONS_RESET, { fix: "sysctl -w net.ipv4.tcp_migrate_req=1" });
  }
}
