/**
 * `deno task fuzz`'s flags: `FuzzOptions`, the usage text, and
 * `parseFuzzArgs`, which checks them (a loopback `--server`, a token of the
 * right length, bounded frames, seconds and connections) and throws a
 * `UsageError` with one line for the first that is wrong.
 *
 * @example
 * ```ts
 * import { parseFuzzArgs } from "./fuzz_args.ts";
 *
 * const options = parseFuzzArgs(["--frames", "20000", "--seed", "7"]);
 * console.log(options.frames, options.seed, options.duration); // 20000 7 Infinity
 * ```
 * @module
 */
import { intFlag, isLoopback, numberFlag } from "./_cli.ts";
import { parseFlags, tokenFlag, UsageError } from "../cli/args.ts";

/** Everything the command line says. */
export interface FuzzOptions {
  /** Where the server is; null: start one. */
  server: { hostname: string; port: number } | null;
  /** Stop after this many frames (Infinity: only `duration` stops the run). */
  frames: number;
  /** Stop after this many seconds. */
  duration: number;
  /** Fuzz connections open at once. */
  connections: number;
  seed: number;
  /** Seconds a case may wait for its replies before it counts as a hang. */
  timeout: number;
  /** The good client's device token (a server with `--tokens`). */
  token: string | undefined;
  quiet: boolean;
  help: boolean;
}

/** `deno task fuzz --help`. */
export const USAGE = `Usage: deno task fuzz [options]

Sends mutated legacy and framed requests to a real server (started on a free loopback port unless
--server is given) with a well-behaved client alongside, and checks every reply.
Exits 1 on any crash, hang, invalid reply or error of the good client.

Options:
  --server HOST:PORT   a running server on loopback (default: start one)
  --frames N           stop after N frames (default: no limit; --duration stops the run)
  --duration S         stop after S seconds (default 10; no limit when --frames is given)
  --connections N      fuzz connections at once (default 32)
  --seed N             the PRNG seed, to replay a run (default: random, printed)
  --timeout S          seconds a case may wait for its replies before it is a hang (default 10)
  --token TOKEN        the good client's device token, for a server with --tokens
  -q, --quiet          no progress line
  -h, --help           show this help`;

/** Parses and checks the command line; throws `UsageError`. */
export function parseFuzzArgs(args: string[]): FuzzOptions {
  const { values } = parseFlags({
    args,
    options: {
      server: { type: "string" },
      frames: { type: "string" },
      duration: { type: "string" },
      connections: { type: "string" },
      seed: { type: "string" },
      timeout: { type: "string" },
      token: { type: "string" },
      quiet: { type: "boolean", short: "q" },
      help: { type: "boolean", short: "h" },
    },
  });
  let server: FuzzOptions["server"] = null;
  if (values.server !== undefined) {
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(values.server);
    if (!match) throw new UsageError(`--server must be HOST:PORT, got "${values.server}"`);
    const hostname = match[1] ?? match[2];
    if (!isLoopback(hostname)) {
      throw new UsageError(`--server must be a loopback address (127.x.x.x, ::1, localhost)`);
    }
    server = { hostname, port: intFlag("server", match[3], 0, { min: 1, max: 65535 }) };
  }
  tokenFlag(values.token);
  return {
    server,
    frames: values.frames === undefined
      ? Infinity
      : intFlag("frames", values.frames, 0, { min: 1, max: 1e12 }),
    // --frames alone bounds the run by frames; with neither, 10 s.
    duration: numberFlag("duration", values.duration, values.frames === undefined ? 10 : Infinity, {
      min: 0.1,
      max: 86_400,
    }),
    connections: intFlag("connections", values.connections, 32, { min: 1, max: 1000 }),
    seed: intFlag("seed", values.seed, Math.floor(Math.random() * 2 ** 31), {
      min: 0,
      max: 2 ** 32 - 1,
    }),
    timeout: numberFlag("timeout", values.timeout, 10, { min: 0.1, max: 600 }),
    token: values.token,
    quiet: values.quiet ?? false,
    help: values.help ?? false,
  };
}
