/**
 * A listener Worker for tests: `listener_worker.ts` itself, plus one message
 * that blocks its event loop for real (`Atomics.wait` on the posted buffer's
 * word 0, until the test sets and notifies it), as a Worker stuck in a loop
 * would be. Started through `ListenerOptions.workerUrl`; the production
 * protocol has no such message.
 *
 * @example
 * ```ts
 * const worker = new Worker(new URL("./blocking_listener_worker.ts", import.meta.url), { type: "module" });
 * worker.terminate();
 * ```
 * @module
 */
/// <reference lib="deno.worker" />
import "../listeners/listener_worker.ts";

self.addEventListener("message", (event: MessageEvent) => {
  const data = event.data as { type: string; buffer?: SharedArrayBuffer };
  if (data.type === "testBlock" && data.buffer) Atomics.wait(new Int32Array(data.buffer), 0, 0);
});
