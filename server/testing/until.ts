/**
 * The one wait of the tests: until a state comes about, looked at every 10
 * ms, instead of a fixed sleep a busy machine can outrun. Past its limit it
 * throws a sentence naming what it waited for, so a test fails where it
 * stood rather than hanging.
 *
 * @example
 * ```ts
 * import { until } from "./until.ts";
 *
 * let ready = false;
 * setTimeout(() => ready = true, 20);
 * await until(() => ready, "the flag set");
 * console.log(ready); // true
 * ```
 * @module
 */

/** Resolves once `check()` holds (it may be async); throws naming `what` after `ms`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 15_000,
): Promise<void> {
  for (const start = performance.now(); !(await check());) {
    if (performance.now() - start > ms) throw new Error(`still not true after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
