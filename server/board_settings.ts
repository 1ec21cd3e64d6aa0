/**
 * The board port's settings, from the resolved options: as an in-process
 * connection takes them (`boardContext`, TCP and TLS alike) and as the
 * listener Workers take them (`listenerOptions`, `--listeners N`).
 *
 * @example
 * ```ts
 * import { listenerOptions } from "./board_settings.ts";
 * import { withServerDefaults } from "./options.ts";
 *
 * const settings = listenerOptions(withServerDefaults({ port: 0 }));
 * console.log(settings.limits.maxConnectionsPerAddress, settings.idleTimeoutMs); // 1024 900000
 * ```
 * @module
 */
import type { RequestHandler } from "./core/handler.ts";
import type { ResolvedServerOptions } from "./options.ts";
import type { ConnectionContext } from "./tcp/answering_connection.ts";
import { connectionSettings } from "./tcp/connection_settings.ts";
import { BoardLimits } from "./tcp/limits.ts";
import type { ListenerOptions } from "./listeners/listener_options.ts";

/** What every board connection (TCP and TLS) shares: the handler, the limits, the timeouts. */
export function boardContext(
  handler: RequestHandler,
  options: ResolvedServerOptions,
): ConnectionContext {
  const listener = listenerOptions(options);
  return {
    handler,
    log: listener.log,
    limits: new BoardLimits(listener.limits),
    trustedProxies: listener.trustedProxies,
    ...connectionSettings(listener),
    onConnection: options.onConnection,
  };
}

/** The board port's connection settings, as the listener Workers take them (`--listeners N`). */
export function listenerOptions(options: ResolvedServerOptions): ListenerOptions {
  return {
    hostname: options.hostname,
    port: options.port,
    log: options.log,
    limits: {
      maxConnections: options.maxConnections,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress,
      maxBufferedBytes: options.maxBufferedBytes,
      maxQueued: options.maxQueued,
      minQueueShare: options.minQueueShare,
    },
    trustedProxies: options.trustedProxies ?? null,
    maxFrame: options.maxFrame,
    maxLegacy: options.maxLegacy,
    readTimeoutMs: options.messageTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs,
    writeTimeoutMs: options.writeTimeoutMs,
    maxPipelined: options.maxPipelined,
    tls: options.tls,
    listenerTimeoutMs: options.listenerTimeoutMs,
    workerUrl: options.listenerWorkerUrl,
  };
}
