/**
 * The Web Locks API (`navigator.locks`), which Deno has but types in the DOM
 * library only. A listener Worker holds its life lock while it runs; the
 * main thread is granted the lock once the Worker's thread has ended, which
 * tells a stopped Worker from one stuck in a loop.
 *
 * @example
 * ```ts
 * import { webLocks } from "./web_locks.ts";
 *
 * const held = await webLocks().request("example-lock", () => "granted");
 * console.log(held); // granted
 * ```
 * @module
 */

/** The part of the Web Locks API used here. */
export interface WebLocks {
  request<T>(name: string, granted: () => T): Promise<Awaited<T>>;
  request<T>(name: string, options: { signal: AbortSignal }, granted: () => T): Promise<Awaited<T>>;
}

/** `navigator.locks`, process-wide: a lock a Worker holds is granted to another once it has stopped. */
export function webLocks(): WebLocks {
  return (navigator as unknown as { locks: WebLocks }).locks;
}
