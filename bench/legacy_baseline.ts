/**
 * What 500 legacy clients (a connection per request) would take if the
 * server cost nothing but its engine: the same load against an echo server
 * with no handler and no engine (`echo_listeners.ts`, the same socket work),
 * plus the time the engine alone takes for that many runs of one digit (what
 * a server that did not batch would run). `bench:stress`
 * compares a legacy step's total with it (target: at most 1.1×).
 *
 * @example
 * ```ts
 * import { legacyBaseline } from "./legacy_baseline.ts";
 *
 * const baseline = await legacyBaseline(async (port) => {
 *   // Run the step's plan against `port`; return its elapsed ms.
 *   return port > 0 ? 50 : 0;
 * }, 500, 20_000);
 * console.log(baseline); // { echoMs: 50, engineMs: 25 }
 * ```
 * @module
 */
import { withEchoServer } from "./echo_listeners.ts";

/** The echo server's total for the same load, and the engine's time for its digits. */
export interface LegacyBaseline {
  echoMs: number;
  engineMs: number;
}

/**
 * Starts an echo server, lets `runAgainst(port)` run the step's load on it
 * (returning its elapsed ms), stops it, and adds `digits` at the engine's
 * rate alone (`engineRate` digits/s, measured at runs of one digit).
 */
export async function legacyBaseline(
  runAgainst: (port: number) => Promise<number>,
  digits: number,
  engineRate: number,
): Promise<LegacyBaseline> {
  const echoMs = await withEchoServer(runAgainst);
  return { echoMs, engineMs: (digits / engineRate) * 1000 };
}
