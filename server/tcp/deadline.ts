/**
 * A socket operation raced against a deadline, for the board port's read and
 * write deadlines: Deno cannot cancel one read or write, so the operation
 * left behind is let settle on its own (it rejects once its connection is
 * closed) and its rejection is ignored.
 *
 * @example
 * ```ts
 * import { beforeDeadline } from "./deadline.ts";
 *
 * const result = await beforeDeadline(new Promise((r) => setTimeout(() => r(1), 50)), 10);
 * console.log(result); // "timeout"
 * ```
 * @module
 */

/** `work`'s result, or "timeout" when `ms` pass first. */
export async function beforeDeadline<T>(work: Promise<T>, ms: number): Promise<T | "timeout"> {
  if (ms <= 0) {
    work.catch(() => {});
    return "timeout";
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    // setTimeout takes at most a signed 32-bit delay.
    timer = setTimeout(() => resolve("timeout"), Math.min(ms, 2 ** 31 - 1));
  });
  try {
    const result = await Promise.race([work, deadline]);
    if (result === "timeout") work.catch(() => {});
    return result;
  } finally {
    clearTimeout(timer);
  }
}
