/**
 * The floor under one client's round trip on this machine: the same client and
 * requests against an echo server (`echo_listeners.ts`: it reads, frames and
 * writes as the server does, with no handler and no engine). No server answers
 * over this loopback faster or more steadily than that, so `bench:stress`
 * prints it beside a one-client step, whose targets (the part of the round
 * trip that is not inference at most 0.15 of it, p99/p50 at most 2) it puts
 * in scale. The echo runs the load twice and keeps the second, its own code
 * then warm as the server's is.
 *
 * @example
 * ```ts
 * import { echoFloor, formatEchoFloor } from "./echo_floor.ts";
 *
 * const floor = await echoFloor(async (port) => {
 *   // Run the step's plan against `port`; return its latency's p50 and p99 in ms.
 *   return { p50: port > 0 ? 0.04 : 0, p99: 0.12 };
 * });
 * console.log(formatEchoFloor(floor, 0.3));
 * // an echo server (no handler, no engine), the same client: round trip p50 0.040 ms ...
 * ```
 * @module
 */
import { fixed } from "./_cli.ts";
import { withEchoServer } from "./echo_listeners.ts";

/** An echo server's round trip for the same client, ms. */
export interface EchoFloor {
  p50: number;
  p99: number;
}

/** Starts an echo server, runs `runAgainst(port)` on it twice (the first warms it), and stops it. */
export async function echoFloor(
  runAgainst: (port: number) => Promise<EchoFloor>,
): Promise<EchoFloor> {
  return await withEchoServer(async (port) => {
    await runAgainst(port);
    const { p50, p99 } = await runAgainst(port);
    return { p50, p99 };
  });
}

/** One line: the echo's round trip, and the step's round trip less inference (`overheadP50`, ms) against it. */
export function formatEchoFloor(floor: EchoFloor, overheadP50: number): string {
  return `an echo server (no handler, no engine), the same client: round trip p50 ` +
    `${fixed(floor.p50, 3)} ms  p99 ${fixed(floor.p99, 3)} ms (p99/p50 ` +
    `${fixed(floor.p99 / floor.p50, 2)}): this loopback's floor; the step's round trip less ` +
    `inference is ${fixed(overheadP50 / floor.p50, 1)}× its p50`;
}
