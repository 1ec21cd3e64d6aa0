/**
 * `deno task bench:listeners`: whether several listener Workers on one port
 * (`reusePort`) serve more than one, on the socket work alone. For each
 * listener count it starts `echo_listeners.ts` (framed replies with no
 * handler and no engine) in its own process, optionally pinned with
 * `taskset` to `--server-cpus`, loads it with framed keep-alive clients
 * (this process, pinned to `--load-cpus` when given), and prints req/s, the
 * connections each listener took and the server's CPU per listener thread.
 *
 * @example
 * ```sh
 * deno task bench:listeners --listeners 1,2 --clients 200 --requests 500
 * # the server on cores 0-1, the load on 2-3 (a 4-core machine):
 * deno task bench:listeners --listeners 1,2 --server-cpus 0,1 --load-cpus 2,3 --load-workers 2
 * ```
 * @module
 */
import { formatTable, intFlag, listFlag, parseOrExit, thousands } from "./_cli.ts";
import { parseFlags, UsageError } from "../cli/args.ts";
import { cpuDelta, threadCpu, workerThreads } from "./cpu.ts";
import { syntheticDigits } from "./digits.ts";
import { LoadPool } from "./pool.ts";
import { spawnEchoListeners } from "./echo_listeners.ts";

const USAGE = `Usage: deno task bench:listeners [options]

Serves framed requests with no handler or engine from 1, 2, ... listener Workers on one port
(reusePort) and prints req/s and each listener's share.

Options:
  --listeners K,...  listener counts (default 1,2)
  --clients N        framed keep-alive clients (default 200)
  --requests N       requests per client (default 500)
  --load-workers N   load generator Workers (default 1)
  --server-cpus L    pin the server to these CPUs (taskset -c L, e.g. 0,1)
  --load-cpus L      pin this process (the load generator) to these CPUs
  -h, --help         show this help`;

interface ListenerOptions {
  listeners: number[];
  clients: number;
  requests: number;
  loadWorkers: number;
  serverCpus?: string;
  loadCpus?: string;
  help?: boolean;
}

function cpuList(name: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(text)) {
    throw new UsageError(`--${name} must be a CPU list as taskset takes it (e.g. 0,1 or 0-3)`);
  }
  return text;
}

function parse(args: string[]): ListenerOptions {
  const { values } = parseFlags({
    args,
    options: {
      listeners: { type: "string" },
      clients: { type: "string" },
      requests: { type: "string" },
      "load-workers": { type: "string" },
      "server-cpus": { type: "string" },
      "load-cpus": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  return {
    listeners: listFlag("listeners", values.listeners, [1, 2], { min: 1, max: 64 }),
    clients: intFlag("clients", values.clients, 200, { min: 1, max: 10_000 }),
    requests: intFlag("requests", values.requests, 500, { min: 1 }),
    loadWorkers: intFlag("load-workers", values["load-workers"], 1, { min: 0, max: 64 }),
    serverCpus: cpuList("server-cpus", values["server-cpus"]),
    loadCpus: cpuList("load-cpus", values["load-cpus"]),
    help: values.help,
  };
}

const options = parseOrExit("bench:listeners", parse, Deno.args, USAGE);
if (options.loadCpus) {
  await new Deno.Command("taskset", { args: ["-a", "-p", "-c", options.loadCpus, `${Deno.pid}`] })
    .output();
}
const pool = await LoadPool.create(options.loadWorkers, syntheticDigits(100));
const rows: (string | number)[][] = [];
try {
  for (const listeners of options.listeners) {
    const echo = await spawnEchoListeners(listeners, options.serverCpus);
    const plan = {
      hostname: "127.0.0.1",
      port: echo.port,
      httpPort: 0,
      protocol: "framed" as const,
      digits: "u8" as const,
      keepAlive: true,
      garbage: false,
      clients: options.clients,
      requests: options.requests,
      durationMs: 120_000,
      timeoutMs: 30_000,
    };
    // A short first round warms both sides; only the second counts.
    await pool.run({ ...plan, requests: Math.min(50, options.requests) });
    const before = threadCpu(echo.pid);
    const result = await pool.run(plan);
    const cpu = workerThreads(cpuDelta(before, threadCpu(echo.pid)));
    const counts = await echo.stop();
    const failed = Object.values(result.errors).reduce((a, b) => a + b, 0);
    const seconds = result.elapsedMs / 1000;
    const perThread = Object.values(cpu).map((ns) => `${Math.round(ns / 1e7 / seconds)}%`);
    rows.push([
      listeners,
      thousands(result.count / seconds),
      failed,
      counts.join("/"),
      perThread.join("/") || "-",
      `${Math.round(result.processCpuMs / 10 / seconds)}%`,
    ]);
  }
} finally {
  pool.close();
}
console.log(
  formatTable(
    [
      "listeners",
      "req/s",
      "failed",
      "connections each (both rounds)",
      "listener CPU each",
      "load CPU",
    ],
    rows,
  ),
);
console.log(
  `\n${options.clients} framed keep-alive clients × ${options.requests} requests` +
    (options.serverCpus ? `; server on CPUs ${options.serverCpus}` : "") +
    (options.loadCpus ? `; load on CPUs ${options.loadCpus}` : "") +
    ". CPU each: % of one core while loaded (the second of two rounds; the first warms up).",
);
