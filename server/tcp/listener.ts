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

/** Accepts board connections until shut down. */
export class BoardListener {
  readonly addr: Deno.NetAddr;
  /** Resolves when the accept loop has ended. */
  readonly finished: Promise<void>;
  #listener: Deno.TcpListener | Deno.TlsListener;
  #context: ConnectionContext;
  #connections = new Set<Connection>();
  #stopping = false;

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
        // Out of file descriptors, say: keep serving the connections there are, and try again.
        log.error("accept failed", { error: (e as Error).message });
        await new Promise((resolve) => setTimeout(resolve, 50));
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
