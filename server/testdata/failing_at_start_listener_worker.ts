/**
 * A listener Worker for tests: `listener_worker.ts` itself, except that the
 * first Worker of a start-up (the one asked to bind port 0, to pick the
 * port) fails with an uncaught error, as a bug in it would, once it has bound
 * and answered `listening` and the next Worker has been started (so the main
 * thread has read that answer: a Worker's error and its messages reach it by
 * different ways, in no set order); and every other Worker, asked to bind
 * that port, binds only once the first has stopped. So the first fails while
 * `ListenerWorkers.start` still binds the next, after its own bind and before
 * the server serves. A Worker started in its place is asked for the port
 * picked, and serves. Started through `ListenerOptions.workerUrl`; the
 * production protocol has no hook for it.
 *
 * @example
 * ```ts
 * const worker = new Worker(new URL("./failing_at_start_listener_worker.ts", import.meta.url), { type: "module" });
 * worker.terminate();
 * ```
 * @module
 */
/// <reference lib="deno.worker" />
import "../listeners/listener_worker.ts";
import type { FromListener, ToListener } from "../listeners/listener_wire.ts";
import { webLocks } from "../listeners/web_locks.ts";

/** The Web Lock the failing Worker holds while it lives, named by the port it bound (one per test). */
const firstAlive = (port: number) => `test-first-listener-alive-${port}`;

/** Where the next Worker says it has started, to the failing one. */
const nextStarted = (port: number) => new BroadcastChannel(`test-next-listener-${port}`);

/** Set once this Worker was asked to bind port 0: it is the one that fails. */
let failing = false;

/** The Worker's scope as this script uses it (typed alike whichever library a check loads). */
const scope = self as unknown as {
  postMessage(message: FromListener, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToListener>) => void) | null;
};

/** Makes the first Worker of a start-up fail after its bind, and the others wait for it to stop. */
function failFirstAtStart(): void {
  const post = scope.postMessage.bind(scope);
  scope.postMessage = (message, transfer = []) => {
    if (!failing || message.type !== "listening") return post(message, transfer);
    // The lock is taken, and the channel heard, before `listening` goes out: the next Worker is
    // spawned after it.
    webLocks().request(firstAlive(message.port), () => {
      nextStarted(message.port).onmessage = () => {
        setTimeout(() => {
          throw new Error("test: a listener Worker failing during start-up");
        });
      };
      post(message, transfer);
      return new Promise(() => {});
    });
  };

  const serve = scope.onmessage!;
  scope.onmessage = async (event) => {
    const message = event.data;
    if (message.type === "listen") {
      const { port } = message.settings;
      if (port === 0) failing = true;
      else {
        nextStarted(port).postMessage("started");
        await webLocks().request(firstAlive(port), () => {});
      }
    }
    serve(event);
  };
}

// Imported outside a Worker (a doc test runs this module), it changes nothing.
if (typeof scope.postMessage === "function") failFirstAtStart();
