/**
 * Helpers for tests of the listener Workers (`--listeners N`): a bounded wait
 * for a condition, and a real way to make a Worker fail (a message it cannot
 * read, whose uncaught error ends it, as a bug in it would).
 *
 * @example
 * ```ts
 * import { until } from "./listeners.ts";
 *
 * let ready = false;
 * setTimeout(() => ready = true, 20);
 * await until(() => ready, "the flag set");
 * console.log(ready); // true
 * ```
 * @module
 */
import type { WorkerLink } from "../listeners/worker_link.ts";

/** Waits until `done` holds; throws naming `what` after `ms`. */
export async function until(done: () => boolean, what: string, ms = 5_000): Promise<void> {
  for (const start = performance.now(); !done();) {
    if (performance.now() - start > ms) throw new Error(`still not true after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Makes `link`'s Worker fail for real: a message it cannot read; its uncaught error ends it. */
export function failWorker(link: WorkerLink): Promise<string> {
  link.send({ type: "replies", buffer: null!, length: 12 });
  return link.failed;
}
