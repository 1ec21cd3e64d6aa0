/**
 * A `Deno.serve` port's shutdown that ends when every request taken has been
 * answered, not when every connection has closed: a connection left with a
 * body its route did not read (a 404's, a refused one's, one past its
 * deadline) stays open in `Deno.serve` until its client sends the rest or
 * leaves, and its graceful shutdown waits for that. Its answer has gone out,
 * so nothing is owed to it; the process may end under it.
 *
 * @example
 * ```ts
 * import { Answering } from "./answering.ts";
 *
 * const answering = new Answering();
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (_r, info) => {
 *   answering.track(info);
 *   return new Response("ok");
 * });
 * console.log(await (await fetch(`http://127.0.0.1:${server.addr.port}/`)).text()); // ok
 * await answering.shutdown(server);
 * ```
 * @module
 */

/** The requests of one port whose answers are not yet delivered. */
export class Answering {
  #open = new Set<Promise<void>>();

  /** Counts a request until its answer is delivered (or its client has gone). */
  track(info: Deno.ServeHandlerInfo): void {
    const done: Promise<void> = info.completed.then(
      () => {},
      () => {},
    ).finally(() => this.#open.delete(done));
    this.#open.add(done);
  }

  /**
   * Stops accepting and resolves once every request taken is answered, or
   * once the server has finished, whichever comes first.
   */
  async shutdown(server: Deno.HttpServer): Promise<void> {
    const graceful = server.shutdown();
    await Promise.race([graceful, this.#answered()]);
  }

  async #answered(): Promise<void> {
    // Keep-alive connections may still hand over a request read before the shutdown.
    while (this.#open.size > 0) await Promise.all(this.#open);
  }
}
