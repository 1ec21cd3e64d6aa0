/**
 * `deno task bench:start-hang`: starts the server again and again, each time
 * with load arriving the moment it prints its listening line, and counts the
 * starts whose engine hung (a request failed or timed out, or the engine
 * worker was replaced). onnxruntime-web with 2+ WASM threads used to hang in
 * about 1 start of 16 under immediate load; one start is no proof either way,
 * so this runs many.
 *
 * A server that refuses a configuration (exit 2 with a sentence) counts as
 * refused; one whose start the run watchdog ended (a warm-up run taken for
 * hung) counts as hung.
 *
 * @example
 * ```sh
 * deno task bench:start-hang --threads 2                 # 100 starts
 * deno task bench:start-hang --threads 2 --starts 16 --clients 200
 * deno task bench:start-hang --threads 8 --starts 5      # starts or refuses, never hangs
 * ```
 * @module
 */
import { choiceFlag, intFlag, numberFlag, parseOrExit, pathFlag, Progress } from "./_cli.ts";
import { parseFlags } from "../cli/args.ts";
import { ENGINE_KINDS } from "../server/config_spec.ts";
import { loadDigits } from "./digits.ts";
import { LoadPool } from "./pool.ts";
import { spawnServer } from "../server/testing/server_process.ts";

/** Everything the command line says. */
export interface StartHangOptions {
  starts: number;
  threads: number;
  instances: number | null;
  engine: string | null;
  clients: number;
  requests: number;
  /** Seconds a request may take before the start counts as hung. */
  timeout: number;
  serverMain: string | null;
  help: boolean;
}

export const USAGE = `Usage: deno task bench:start-hang [options]

Starts the server (as deno task serve) N times on a free loopback port, sends framed keep-alive
load the moment it prints its listening line, and reports how many starts hung: a request failed
or went unanswered, or the engine worker was replaced (also during warm-up, which ends the start).
A refused configuration (exit 2 with a sentence) counts as refused, not hung.

Options:
  --starts N             server starts (default 100)
  --threads N            the server's --threads (default 2)
  --instances K          the server's --instances (default: the server's)
  --engine E             the server's --engine (default: the server's)
  --clients N            framed keep-alive clients per start (default 100)
  --requests R           requests per client per start (default 20)
  --timeout S            a request unanswered after S seconds marks a hang (default 5;
                         the engine's watchdog fires after 2)
  --server-main FILE     start this entry point instead of server/main.ts (before/after runs)
  -h, --help             show this help`;

export function parseStartHangArgs(args: string[]): StartHangOptions {
  const { values } = parseFlags({
    args,
    options: {
      starts: { type: "string" },
      threads: { type: "string" },
      instances: { type: "string" },
      engine: { type: "string" },
      clients: { type: "string" },
      requests: { type: "string" },
      timeout: { type: "string" },
      "server-main": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  return {
    starts: intFlag("starts", values.starts, 100, { min: 1, max: 10_000 }),
    threads: intFlag("threads", values.threads, 2, { min: 1, max: 64 }),
    instances: values.instances === undefined
      ? null
      : intFlag("instances", values.instances, 1, { min: 1, max: 64 }),
    engine: values.engine === undefined
      ? null
      : choiceFlag("engine", values.engine, ENGINE_KINDS, "wasm"),
    clients: intFlag("clients", values.clients, 100, { min: 1, max: 2_000 }),
    requests: intFlag("requests", values.requests, 20, { min: 1, max: 1_000 }),
    timeout: numberFlag("timeout", values.timeout, 5, { min: 0.1, max: 120 }),
    serverMain: pathFlag("server-main", values["server-main"]) ?? null,
    help: values.help ?? false,
  };
}

/** What the server logs when a warm-up hung and it started the engine afresh. */
const RECOVERED = /engine warm-up hung; starting afresh/;
/** What the server says when its watchdog took a run for hung. */
const WATCHDOG = /replaced|hung|made no progress|took over/;

/** What happened to one start. */
export type StartOutcome = "ok" | "hung" | "refused";

/** The tally of a run. */
export interface StartHangReport {
  starts: number;
  ok: number;
  hung: number;
  refused: number;
  /** Warm-ups that hung and that the server recovered from by starting afresh (counted in `ok` starts). */
  recovered: number;
  /** The first refusal's sentence, and the first hang's errors, to show what happened. */
  refusal: string | null;
  hang: string | null;
}

/** Runs the starts and tallies them; `onStart` hears each outcome. */
export async function runStartHang(
  options: StartHangOptions,
  onStart: (index: number, outcome: StartOutcome, detail: string) => void = () => {},
): Promise<StartHangReport> {
  const digits = await loadDigits("synthetic", 100);
  // The load runs in this thread: a start's load is small, and its timing matters more than rate.
  const pool = await LoadPool.create(0, digits);
  const report: StartHangReport = {
    starts: options.starts,
    ok: 0,
    hung: 0,
    refused: 0,
    recovered: 0,
    refusal: null,
    hang: null,
  };
  const extra: string[] = [];
  if (options.instances !== null) extra.push("--instances", String(options.instances));
  if (options.engine !== null) extra.push("--engine", options.engine);
  // Warnings show a warm-up that hung and was started afresh (a start the server recovered).
  extra.push("--log-level", "warn");
  for (let i = 0; i < options.starts; i++) {
    let server;
    try {
      server = await spawnServer({
        threads: options.threads,
        main: options.serverMain ?? undefined,
        extraArgs: extra,
        startTimeoutMs: 60_000,
      });
    } catch (e) {
      const message = (e as Error).message;
      // A start the watchdog ended (a warm-up run taken for hung) is a hang, not a refusal.
      if (WATCHDOG.test(message)) {
        report.hung++;
        report.hang ??= message;
        onStart(i, "hung", message);
      } else {
        report.refused++;
        report.refusal ??= message;
        onStart(i, "refused", message);
      }
      continue;
    }
    let outcome: StartOutcome = "ok";
    let detail = "";
    try {
      const result = await pool.run({
        hostname: server.hostname,
        port: server.port,
        httpPort: server.httpPort ?? 0,
        protocol: "framed",
        digits: "u8",
        keepAlive: true,
        garbage: false,
        clients: options.clients,
        requests: options.requests,
        durationMs: 60_000,
        timeoutMs: options.timeout * 1000,
      });
      const failures = Object.entries(result.errors);
      const log = server.stderr();
      const restarts = log.match(new RegExp(RECOVERED.source, "g"))?.length ?? 0;
      report.recovered += restarts;
      const replaced = WATCHDOG.test(log.replace(new RegExp(`.*${RECOVERED.source}.*`, "g"), ""));
      if (failures.length > 0 || replaced || result.count < options.clients * options.requests) {
        outcome = "hung";
        detail = failures.map(([kind, n]) => `${kind} ×${n}`).join(", ") +
          (replaced ? " (engine worker replaced)" : "");
      }
    } finally {
      await server.stop(3_000);
    }
    if (outcome === "hung") {
      report.hung++;
      report.hang ??= detail;
    } else report.ok++;
    onStart(i, outcome, detail);
  }
  return report;
}

if (import.meta.main) {
  const options = parseOrExit("bench:start-hang", parseStartHangArgs, Deno.args, USAGE);
  const progress = new Progress();
  const report = await runStartHang(options, (i, outcome, detail) => {
    if (outcome !== "ok") {
      progress.done();
      console.log(`start ${i + 1}: ${outcome}${detail ? `: ${detail}` : ""}`);
    }
    progress.update(`start ${i + 1}/${options.starts}`, false);
  });
  progress.done();
  const rate = (n: number) => `${n}/${report.starts} (${(100 * n / report.starts).toFixed(1)}%)`;
  console.log(
    `threads=${options.threads}${options.instances ? ` instances=${options.instances}` : ""}${
      options.engine ? ` engine=${options.engine}` : ""
    } clients=${options.clients}×${options.requests}`,
  );
  console.log(`started and served: ${rate(report.ok)}`);
  console.log(`hung:               ${rate(report.hung)}`);
  console.log(`refused:            ${rate(report.refused)}`);
  console.log(`warm-ups that hung and were started afresh by the server: ${report.recovered}`);
  if (report.refusal) console.log(`refusal: ${report.refusal}`);
  Deno.exit(report.hung > 0 ? 1 : 0);
}
