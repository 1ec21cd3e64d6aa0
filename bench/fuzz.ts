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
import { Command } from "../shared/codec.ts";
import { WireError } from "../shared/errors.ts";
import { InferenceClient, legacyInfer } from "../client/client.ts";
import {
  fixed,
  formatTable,
  intFlag,
  isLoopback,
  numberFlag,
  parseFlags,
  parseOrExit,
  Progress,
  thousands,
  UsageError,
} from "./_cli.ts";
import { loadDigits } from "./digits.ts";
import { checkReplies, checkReply } from "./fuzz_check.ts";
import { type FuzzCase, Mutator } from "./fuzz_mutate.ts";
import { spawnServer } from "./server_process.ts";

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

const USAGE = `Usage: deno task fuzz [options]

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

const MAX_PROBLEMS = 10;

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
  let size = 0;
  try {
    conn.setNoDelay(true);
    try {
      let written = 0;
      while (written < c.bytes.length) written += await conn.write(c.bytes.subarray(written));
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
      size += n;
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
  const received = concat(chunks, size);
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

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * The well-behaved client: framed requests with real digits, a few in
 * flight, plus a legacy request now and then (none when a token is needed);
 * every reply is checked against the answer the same digit got before the run.
 */
async function goodClient(
  address: { hostname: string; port: number },
  token: string | undefined,
  stop: { stopped: boolean },
  problems: string[],
): Promise<{ requests: number; errors: number }> {
  const { digits } = await loadDigits("mnist");
  const sample = digits.slice(0, 32);
  const counts = { requests: 0, errors: 0 };
  const fail = (what: string) => {
    counts.errors++;
    if (problems.length < MAX_PROBLEMS) problems.push(`good client: ${what}`);
  };
  let client = await InferenceClient.connect(address, { token });
  let nextId = 1;
  const expected: number[] = [];
  try {
    for (const digit of sample) {
      const reply = await client.infer({ digitU8: digit });
      nextId++;
      const problem = checkReply(reply, false);
      if (problem) throw new Error(`before the run: ${problem} ${reply.error}`);
      expected.push(reply.predicted);
    }
  } catch (e) {
    fail((e as Error).message);
    client.close();
    return counts;
  }
  const check = (i: number, id: number, reply: Awaited<ReturnType<InferenceClient["infer"]>>) => {
    counts.requests++;
    const problem = checkReply(reply, false);
    if (problem) fail(problem);
    else if (reply.requestId !== id) fail(`reply to request ${id} carries id ${reply.requestId}`);
    else if (reply.predicted !== expected[i]) {
      fail(`digit ${i} predicted ${reply.predicted}, before the run ${expected[i]}`);
    }
  };
  const inFlight = 4;
  let i = 0;
  let broken = false;
  while (!stop.stopped) {
    const batch = [];
    for (let k = 0; k < inFlight; k++, i++) {
      const index = i % sample.length;
      const id = nextId++;
      batch.push(
        client.infer({ digitU8: sample[index] }).then(
          (reply) => check(index, id, reply),
          (e) => {
            counts.requests++;
            broken = true;
            fail((e as Error).message);
          },
        ),
      );
    }
    await Promise.all(batch);
    if (broken) {
      // The connection is gone: carry on with a new one, so one loss counts once.
      client.close();
      try {
        client = await InferenceClient.connect(address, { token });
      } catch (e) {
        fail(`cannot reconnect: ${(e as Error).message}`);
        break;
      }
      nextId = 1;
      broken = false;
    }
    if (token === undefined && i % 64 === 0) {
      const index = i % sample.length;
      counts.requests++;
      try {
        const { reply, length } = await legacyInfer(
          address,
          Array.from(sample[index], (p) => p / 255),
        );
        if (reply instanceof WireError) fail(`legacy reply undecodable: ${reply}`);
        else {
          const problem = checkReply(reply, true);
          const best = reply.scores ? reply.scores.indexOf(Math.max(...reply.scores)) : -1;
          if (problem) fail(`legacy: ${problem}`);
          else if (reply.command !== Command.INFERENCE_OUTPUT) fail("legacy: not an inference");
          else if (length !== 96) fail(`legacy reply of ${length} bytes`);
          else if (best !== expected[index]) fail(`legacy digit ${index} predicted ${best}`);
        }
      } catch (e) {
        fail(`legacy: ${(e as Error).message}`);
      }
    }
  }
  client.close();
  return counts;
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

if (import.meta.main) {
  const options = parseOrExit("fuzz", parseFuzzArgs, Deno.args, USAGE);
  const result = await runFuzz(options, new Progress(!options.quiet));
  console.log(formatFuzzResult(result));
  Deno.exit(fuzzFailed(result) ? 1 : 0);
}
