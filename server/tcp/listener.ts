/**
 * The board port's accept loop: every accepted socket becomes a `Connection`
 * sharing one `ConnectionContext`; `shutdown()` stops accepting and lets each
 * connection answer what it owes before it closes.
 *
 * Past `maxConnections` a new connection is still accepted, told
 * `SERVER_BUSY` in its protocol and closed (at most `MAX_REFUSING` at a time
 * wait for their first bytes; more are closed at once). The process keeps a
 * file descriptor in reserve: when it runs out all the same (EMFILE, ENFILE),
 * the reserve is let go to accept and close the waiting client instead of
 * leaving it hanging, and the failure is logged once per interval.
 *
 * @example
 * ```ts
 * import { BoardListener } from "./listener.ts";
 * import { BoardLimits } from "./limits.ts";
 * import { RequestHandler } from "../core/handler.ts";
 * import { Logger } from "../log.ts";
 * import { Command } from "../../shared/codec.ts";
 * import { decodeReply } from "../../shared/reply_codec.ts";
 * import { encodeRequest } from "../../shared/request_codec.ts";
 * import { Status, WireError } from "../../shared/errors.ts";
 *
 * const log = new Logger("error");
 * // A handler without models: it answers GET_STATS, and inference with MODEL_UNAVAILABLE.
 * const handler = new RequestHandler({
 *   route: () => new WireError(Status.MODEL_UNAVAILABLE, "this example serves no model"),
 *   stats: () => ({ version: 1, freq: 0, mode: 0, parameters: 0, served: 0, model: "none" }),
 *   log,
 * });
 * const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const listener = new BoardListener(tcp, {
 *   handler,
 *   log,
 *   limits: new BoardLimits({
 *     maxConnections: 100,
 *     maxConnectionsPerAddress: 100,
 *     maxBufferedBytes: 1 << 20,
 *     maxQueued: 64,
 *     minQueueShare: 16,
 *   }),
 *   trustedProxies: null,
 *   maxFrame: 16 * 1024,
 *   maxLegacy: 64 * 1024,
 *   readTimeoutMs: 5_000,
 *   idleTimeoutMs: 60_000,
 *   writeTimeoutMs: 10_000,
 *   maxPipelined: 256,
 * });
 *
 * // A framed GET_STATS, answered on the same connection.
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: tcp.addr.port });
 * await conn.write(encodeRequest({ command: Command.GET_STATS, requestId: 1 }, true));
 * const buffer = new Uint8Array(1024);
 * const n = (await conn.read(buffer))!;
 * const reply = decodeReply(buffer.subarray(4, n));
 * console.log(reply instanceof WireError ? reply.message : reply.stats?.model); // none
 * await listener.shutdown(); // answers what it owes, then closes every connection
 * conn.close();
 * ```
 * @module
 */
import { Status, WireError } from "../../shared/errors.ts";
import type { ConnectionContext } from "./answering_connection.ts";
import { Connection } from "./connection.ts";

/** How long accepting pauses when the process is out of file descriptors and has no reserve, in ms. */
const FD_BACKOFF_MS = 50;
/** At most one log line per this interval about running out of descriptors, in ms. */
const FD_LOG_INTERVAL_MS = 10_000;
/** Connections over the cap that may wait at once to be told `SERVER_BUSY`. */
export const MAX_REFUSING = 64;

/** Accepts board connections until shut down. */
export class BoardListener {
  readonly addr: Deno.NetAddr;
  /** Resolves when the accept loop has ended. */
  readonly finished: Promise<void>;
  #listener: Deno.TcpListener | Deno.TlsListener;
  #context: ConnectionContext;
  #connections = new Set<Connection>();
  #refusing = 0;
  #stopping = false;
  #fdFailures = 0;
  #fdLoggedAt = -Infinity;
  #reserve: Deno.FsFile | null = null;

  /** A plain TCP listener, or a TLS one (`--tls-port`): the same protocols inside. */
  constructor(listener: Deno.TcpListener | Deno.TlsListener, context: ConnectionContext) {
    this.#listener = listener;
    this.#context = context;
    this.addr = listener.addr;
    this.#takeReserve();
    this.finished = this.#accept();
  }

  /** Connections open now (served or being refused). */
  get open(): number {
    return this.#connections.size;
  }

  async #accept(): Promise<void> {
    while (!this.#stopping) {
      let conn: Deno.TcpConn | Deno.TlsConn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#stopping || e instanceof Deno.errors.BadResource) break;
        const code = (e as { code?: string }).code;
        if (code !== "EMFILE" && code !== "ENFILE") {
          // A client that reset before it was accepted (ENOTCONN, ECONNRESET,
          // ECONNABORTED): nothing to serve; accept the next one at once.
          this.#context.log.debug("accept skipped a client that had gone", {
            error: (e as Error).message,
          });
          continue;
        }
        await this.#outOfDescriptors(code);
        continue;
      }
      this.#start(conn);
    }
    this.#reserve?.close();
    this.#reserve = null;
  }

  #start(conn: Deno.TcpConn | Deno.TlsConn): void {
    const limits = this.#context.limits;
    let connection: Connection;
    if (limits.addConnection()) {
      connection = new Connection(conn, this.#context);
      this.#connections.add(connection);
      connection.serve().finally(() => {
        this.#connections.delete(connection);
        limits.removeConnection();
      });
      return;
    }
    if (this.#refusing >= MAX_REFUSING) {
      const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
      conn.close();
      this.#context.onConnection?.({ reason: "max-connections", peer });
      return;
    }
    const refusal = {
      reason: "max-connections" as const,
      error: new WireError(
        Status.SERVER_BUSY,
        `the server has ${limits.options.maxConnections} connections open, its most`,
      ),
    };
    connection = new Connection(conn, this.#context, refusal);
    this.#refusing++;
    this.#connections.add(connection);
    connection.serve().finally(() => {
      this.#connections.delete(connection);
      this.#refusing--;
    });
  }

  /** Out of descriptors: close the waiting client with the reserve's, or back off; log once per interval. */
  async #outOfDescriptors(code: string): Promise<void> {
    this.#fdFailures++;
    const now = performance.now();
    if (now - this.#fdLoggedAt >= FD_LOG_INTERVAL_MS) {
      this.#context.log.error("accept failed: out of file descriptors", {
        code,
        failures: this.#fdFailures,
        open: this.#connections.size,
      });
      this.#fdLoggedAt = now;
      this.#fdFailures = 0;
    }
    if (this.#reserve) {
      this.#reserve.close();
      this.#reserve = null;
      try {
        const conn = await this.#listener.accept();
        const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
        conn.close();
        this.#context.onConnection?.({ reason: "fd-reserve", peer });
      } catch {
        // Another client reset, or someone else took the descriptor.
      }
      this.#takeReserve();
      if (this.#reserve) return;
    }
    await new Promise((resolve) => setTimeout(resolve, FD_BACKOFF_MS));
    this.#takeReserve();
  }

  #takeReserve(): void {
    try {
      this.#reserve ??= Deno.openSync("/dev/null");
    } catch {
      // No /dev/null, no permission, or no descriptor free: back off instead.
    }
  }

  /** Stops accepting, then lets every connection answer what it owes and close. */
  async shutdown(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#listener.close();
    }
    await Promise.all([...this.#connections].map((c) => c.shutdown()));
    await this.finished;
  }
}
