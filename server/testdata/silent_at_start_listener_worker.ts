/**
 * A listener Worker for tests: `listener_worker.ts` itself, except that it
 * never answers one request of its start-up, as a Worker stuck in its
 * start-up would: with `?silent=listen` (the default) the bind of the board
 * port, with `?silent=http` the bind of the HTTP port, its event loop still
 * running; with `?silent=spin` the bind of the board port too, but having
 * bound it, it loops for 3 s without returning to its event loop (which
 * `terminate()` cannot interrupt). Each only when asked to join a port
 * already picked (every Worker of a start-up after the first, and every
 * restart). The first Worker of a start-up, asked for port 0, binds and
 * serves. Started through `ListenerOptions.workerUrl`; the production
 * protocol has no hook for it.
 *
 * @example
 * ```ts
 * const url = new URL("./silent_at_start_listener_worker.ts?silent=http", import.meta.url);
 * const worker = new Worker(url, { type: "module" });
 * worker.terminate();
 * ```
 * @module
 */
/// <reference lib="deno.worker" />
import "../listeners/listener_worker.ts";
import type { ToListener } from "../listeners/listener_wire.ts";

/** The Worker's scope as this script uses it (typed alike whichever library a check loads). */
const scope = self as unknown as { onmessage: ((event: MessageEvent<ToListener>) => void) | null };

/** The request this Worker leaves unanswered: "listen", "http" or "spin" (a listen). */
const silentOn = new URL(import.meta.url).searchParams.get("silent") ?? "listen";

/** How long a spinning Worker loops once it has bound, ms. */
const SPIN_MS = 3_000;

/** Whether `message` asks to join a port already picked, on the side this Worker is silent on. */
function unanswered(message: ToListener): boolean {
  if (message.type === "listen") return silentOn !== "http" && message.settings.port !== 0;
  if (message.type === "http") return silentOn === "http" && message.settings.port !== 0;
  return false;
}

// Imported outside a Worker (a doc test runs this module), it changes nothing.
if (typeof scope.onmessage === "function") {
  const serve = scope.onmessage;
  scope.onmessage = (event) => {
    const message = event.data;
    if (!unanswered(message)) return serve(event);
    if (silentOn === "spin" && message.type === "listen") {
      const { hostname, port } = message.settings;
      Deno.listen({ hostname, port, reusePort: true });
      for (const until = Date.now() + SPIN_MS; Date.now() < until;) {
        // Stuck: no return to the event loop, which is where terminate() would end it.
      }
    }
  };
}
