/**
 * The board port's accept loop: every accepted socket becomes a `Connection`
 * sharing one `ConnectionContext`; `shutdown()` stops accepting and lets each
 * connection answer what it owes before it closes.
 *
 * @example
 * ```ts ignore
 * import { BoardListener } from "./listener.ts";
 *
 * const listener = new BoardListener(Deno.listen({ port: 0 }), context);
 * await listener.shutdown();
 * ```
 * @module
 */
import { Connection, type ConnectionContext } from "./connection.ts";

/** How long accepting pauses when the process is out of file descriptors, in ms. */
const FD_BACKOFF_MS = 50;
/** At most one log line per this interval about running out of descriptors, in ms. */
const FD_LOG_INTERVAL_MS = 10_000;

/** Accepts board connections until shut down. */
export class BoardListener {
  readonly addr: Deno.NetAddr;
  /** Resolves when the accept loop has ended. */
  readonly finished: Promise<void>;
  #listener: Deno.TcpListener | Deno.TlsListener;
  #context: ConnectionContext;
  #connections = new Set<Connection>();
  #stopping = false;
  #fdFailures = 0;
  #fdLoggedAt = -Infinity;

  /** A plain TCP listener, or a TLS one (`--tls-port`): the same protocols inside. */
  constructor(listener: Deno.TcpListener | Deno.TlsListener, context: ConnectionContext) {
    this.#listener = listener;
    this.#context = context;
    this.addr = listener.addr;
    this.finished = this.#accept();
  }

  /** Connections open now. */
  get open(): number {
    return this.#connections.size;
  }

  async #accept(): Promise<void> {
    const log = this.#context.log;
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
          log.debug("accept skipped a client that had gone", { error: (e as Error).message });
          continue;
        }
        // Out of file descriptors: keep serving the connections there are,
        // and try again shortly; say so once per interval, not per attempt.
        this.#fdFailures++;
        const now = performance.now();
        if (now - this.#fdLoggedAt >= FD_LOG_INTERVAL_MS) {
          log.error("accept failed: out of file descriptors", {
            code,
            failures: this.#fdFailures,
            open: this.#connections.size,
          });
          this.#fdLoggedAt = now;
          this.#fdFailures = 0;
        }
        await new Promise((resolve) => setTimeout(resolve, FD_BACKOFF_MS));
        continue;
      }
      const connection = new Connection(conn, this.#context);
      this.#connections.add(connection);
      connection.serve().finally(() => this.#connections.delete(connection));
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
