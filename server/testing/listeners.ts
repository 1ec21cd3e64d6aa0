/**
 * A real way for a test to make a listener Worker (`--listeners N`) fail: a
 * message it cannot read, whose uncaught error ends it, as a bug in it would.
 *
 * @example
 * ```ts
 * import { failWorker } from "./listeners.ts";
 * import type { ListenerWorkers } from "../listeners/listener_workers.ts";
 *
 * // The sentence the first Worker failed with, once the server has noticed.
 * function failFirst(workers: ListenerWorkers): Promise<string> {
 *   return failWorker(workers.links[0]);
 * }
 * console.log(typeof failFirst); // function
 * ```
 * @module
 */
import type { WorkerLink } from "../listeners/worker_link.ts";

/** Makes `link`'s Worker fail for real: a message it cannot read; its uncaught error ends it. */
export function failWorker(link: WorkerLink): Promise<string> {
  link.send({ type: "replies", buffer: null!, length: 12 });
  return link.failed;
}
