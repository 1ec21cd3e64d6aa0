/**
 * `deno task fuzz`: sends mutated legacy and framed requests (bit flips,
 * cuts, length prefixes that lie, corrupted vtables and offsets, huge vector
 * lengths, random bytes; see `fuzz_mutate.ts`) to a real server, one
 * connection per case, many at once, while a well-behaved client beside them
 * sends real digits and checks every reply. Every reply a fuzz connection gets
 * must be valid (`fuzz_check.ts`) or a close.
 *
 * Prints frames/s, crashes (the server exited or refused connections), hangs
 * (a case unanswered within `--timeout`), invalid replies and the good
 * client's errors, and exits 1 if any of them is not zero. Without `--server`
 * it starts the server itself, as `deno task serve` would, on a free loopback port.
 * Its flags are `fuzz_args.ts`'s; the good client is `fuzz_good_client.ts`.
 *
 * @example
 * ```sh
 * deno task fuzz                                # 10 s against a server it starts
 * deno task fuzz --duration 300 --connections 64
 * deno task fuzz --frames 20000 --seed 7        # a bounded, repeatable slice
 * deno task fuzz --server 127.0.0.1:32001 --token "$TOKEN"
 * ```
 * @module
 */
import { exitWithError } from "../cli/args.ts";
import { fixed, formatTable, parseOrExit, Progress, thousands } from "./_cli.ts";
import { checkReplies, MAX_PROBLEMS } from "./fuzz_check.ts";
import { type FuzzOptions, parseFuzzArgs, USAGE } from "./fuzz_args.ts";
import { goodClient } from "./fuzz_good_client.ts";
import { type FuzzCase, Mutator } from "./fuzz_mutate.ts";
import { spawnServer } from "../server/testing/server_process.ts";
import { concatBytes } from "../shared/bytes.ts";
import { writeAll } from "../server/write_all.ts";

/** What a run found. */
export interface FuzzResult {
  seed: number;
  seconds: number;
  frames: number;
  cases: number;
  /** The server exited during the run, or refused connections. */
  crashes: number;
  /** Cases whose connection was neither answered nor closed within `--timeout`. */
  hangs: number;
  invalid: number;
  /** Connections the server reset (a close, allowed). */
  resets: number;
  /** Connections closed with no reply at all (a close, allowed; counted to watch). */
  silent: number;
  /** Cases the fuzzer could not connect for on its own side (out of ports, say). */
  unconnected: number;
  good: { requests: number; errors: number };
  /** ERROR lines the server wrote (a server it started). */
  serverErrors: number;
  /** A few of them, without their time stamps. */
  serverErrorSamples: string[];
  /** The first problems found, each with what was sent. */
  problems: string[];
}

/** Whether a run found anything wrong. */
export function fuzzFailed(r: FuzzResult): boolean {
  return r.crashes > 0 || r.hangs > 0 || r.invalid > 0 || r.good.errors > 0;
}

type Outcome = "ok" | "invalid" | "hang" | "refused" | "unconnected" | "reset" | "silent";

/** One case on its own connection: send everything, half-close, read until the server closes. */
async function runCase(
  address: { hostname: string; port: number },
  c: FuzzCase,
  timeoutMs: number,
  problems: string[],
): Promise<Outcome> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect(address);
  } catch (e) {
    if (e instanceof Deno.errors.ConnectionRefused) return "refused";
    // Out of local ports or descriptors on the fuzzer's side: not the server's fault.
    note(problems, `connect failed: ${(e as Error).message}`, c);
    return "unconnected";
  }
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    conn.close();
  }, timeoutMs);
  let reset = false;
  const chunks: Uint8Array[] = [];
  try {
    conn.setNoDelay(true);
    try {
      await writeAll(conn, c.bytes);
      await conn.closeWrite();
    } catch {
      // The server closed first (it refused the stream): its reply may still be there to read.
    }
    const buf = new Uint8Array(16 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        // Reset by the server (or closed by the hang timer): a close either way.
        reset = !hung;
        break;
      }
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } finally {
    clearTimeout(timer);
    if (!hung) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
  }
  const received = concatBytes(chunks);
  if (hung) {
    note(problems, `hang after ${received.length} reply bytes`, c);
    return "hang";
  }
  const problem = checkReplies(c.bytes, received, reset);
  if (problem) {
    note(problems, problem, c);
    return "invalid";
  }
  if (reset) return "reset";
  // Nothing sent (a cut to 0 bytes) owes no reply.
  return received.length === 0 && c.bytes.length > 0 ? "silent" : "ok";
}

function note(problems: string[], what: string, c: FuzzCase): void {
  if (problems.length >= MAX_PROBLEMS) return;
  const head = Array.from(c.bytes.subarray(0, 48), (b) => b.toString(16).padStart(2, "0")).join("");
  problems.push(`${what} (${c.kind}, ${c.bytes.length} bytes sent: ${head}...)`);
}

/** Runs the fuzzer; `progress` shows frames and rate while it runs. */
export async function runFuzz(
  options: FuzzOptions,
  progress = new Progress(false),
): Promise<FuzzResult> {
  const spawned = options.server ? null : await spawnServer();
  const address = options.server ?? { hostname: spawned!.hostname, port: spawned!.port };
  const problems: string[] = [];
  const result: FuzzResult = {
    seed: options.seed,
    seconds: 0,
    frames: 0,
    cases: 0,
    crashes: 0,
    hangs: 0,
    invalid: 0,
    resets: 0,
    silent: 0,
    unconnected: 0,
    good: { requests: 0, errors: 0 },
    serverErrors: 0,
    serverErrorSamples: [],
    problems,
  };
  const mutator = new Mutator(options.seed);
  const stop = { stopped: false };
  const started = performance.now();
  const deadline = started + options.duration * 1000;
  try {
    const good = goodClient(address, options.token, stop, problems);
    const worker = async () => {
      while (!stop.stopped) {
        if (result.frames >= options.frames || performance.now() >= deadline) {
          stop.stopped = true;
          break;
        }
        const c = mutator.nextCase();
        result.frames += c.frames;
        result.cases++;
        const outcome = await runCase(address, c, options.timeout * 1000, problems);
        if (outcome === "refused") {
          result.crashes++;
          note(problems, "connection refused: the server is gone", c);
          stop.stopped = true;
        } else if (outcome === "hang") result.hangs++;
        else if (outcome === "invalid") result.invalid++;
        else if (outcome === "reset") result.resets++;
        else if (outcome === "silent") result.silent++;
        else if (outcome === "unconnected") {
          result.unconnected++;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const seconds = (performance.now() - started) / 1000;
        progress.update(
          `fuzz: ${thousands(result.frames)} frames, ${thousands(result.frames / seconds)}/s, ` +
            `${result.invalid} invalid, ${result.hangs} hangs`,
        );
      }
    };
    await Promise.all(Array.from({ length: options.connections }, worker));
    result.seconds = (performance.now() - started) / 1000;
    result.good = await good;
  } finally {
    stop.stopped = true;
    progress.done();
    if (spawned) {
      const code = await spawned.stop();
      const stderr = spawned.stderr();
      const errors = stderr.split("\n").filter((l) => / ERROR /.test(l));
      result.serverErrors = errors.length;
      result.serverErrorSamples = [...new Set(errors.map((l) => l.replace(/^\S+ /, "")))]
        .slice(0, 3);
      if (code !== 0 || spawned.killed) {
        result.crashes++;
        problems.push(
          `the server exited with ${spawned.killed ? "SIGKILL (it did not stop)" : code}: ` +
            stderr.trim().split("\n").slice(-3).join(" | "),
        );
      }
    }
  }
  return result;
}

/** The summary the command prints. */
export function formatFuzzResult(r: FuzzResult): string {
  const rows: (string | number)[][] = [
    ["frames", thousands(r.frames)],
    ["frames/s", thousands(r.frames / r.seconds)],
    ["connections", thousands(r.cases)],
    ["crashes", r.crashes],
    ["hangs", r.hangs],
    ["invalid replies", r.invalid],
    ["closed by reset", thousands(r.resets)],
    ["closed with no reply", thousands(r.silent)],
    ["fuzzer could not connect", thousands(r.unconnected)],
    ["good client requests", thousands(r.good.requests)],
    ["good client errors", r.good.errors],
    ["server ERROR lines", r.serverErrors],
  ];
  let out = `fuzz: seed ${r.seed}, ${fixed(r.seconds, 1)} s\n` + formatTable(["", "count"], rows);
  if (r.problems.length) {
    out += "\n\nfirst problems:\n" + r.problems.map((p) => `- ${p}`).join("\n");
  }
  return out;
}

/** Exits 2 with one sentence when nothing listens at `--server`: there is nothing to fuzz. */
async function exitUnlessListening(server: { hostname: string; port: number }): Promise<void> {
  try {
    (await Deno.connect(server)).close();
  } catch (e) {
    if (!(e instanceof Deno.errors.ConnectionRefused)) throw e;
    const host = server.hostname.includes(":") ? `[${server.hostname}]` : server.hostname;
    exitWithError(
      "fuzz",
      `no server answered on ${host}:${server.port}: the connection was refused (CONNECTION_REFUSED)`,
    );
  }
}

if (import.meta.main) {
  const options = parseOrExit("fuzz", parseFuzzArgs, Deno.args, USAGE);
  if (options.server) await exitUnlessListening(options.server);
  const result = await runFuzz(options, new Progress(!options.quiet));
  console.log(formatFuzzResult(result));
  Deno.exit(fuzzFailed(result) ? 1 : 0);
}
