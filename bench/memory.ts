/**
 * `deno task bench:memory`: what each engine instance costs in memory. For
 * each engine and instance count it starts the real server (as `deno task
 * serve` does, in its own process), reads its resident set once the start
 * has settled (idle), then under framed keep-alive load (the peak of readings
 * every 50 ms: every instance runs full batches), and prints both with the
 * cost of each added instance against one instance. `--check` exits 1 when
 * an added instance costs more than `--max-added-mb` idle or loaded, or a
 * request failed.
 *
 * @example
 * ```sh
 * deno task bench:memory                                # WASM, 1 to 4 instances
 * deno task bench:memory --engine wasm,native --instances 1,2 --check
 * deno task bench:memory --v8-flags none           # without the flags deno task serve passes
 * ```
 * @module
 */
import {
  choiceFlag,
  fixed,
  formatTable,
  intFlag,
  listFlag,
  numberFlag,
  parseOrExit,
  pathFlag,
  v8FlagsFlag,
} from "./_cli.ts";
import { parseFlags, UsageError } from "../cli/args.ts";
import { syntheticDigits } from "./digits.ts";
import { LoadRunner } from "./load.ts";
import { spawnServer } from "../server/testing/server_process.ts";
import { ENGINE_KINDS, type EngineKind } from "../server/config_spec.ts";

const USAGE = `Usage: deno task bench:memory [options]

Starts the server with each instance count and prints its RSS idle and under load.

Options:
  --engine E[,E]     engines to measure: wasm, native (default wasm)
  --instances K,...  instance counts (default 1,2,3,4)
  --settle S         seconds after the start line before the idle reading (default 3)
  --clients N        framed keep-alive clients of the load (default 256)
  --requests N       requests per client (default 20)
  --max-added-mb M   with --check: the most an added instance may cost (default 40)
  --check            exit 1 when an added instance costs more than --max-added-mb
  --server-main F    start this entry point instead of server/main.ts (an older copy, to compare)
  --v8-flags F,...   V8 flags for the server (default: those deno task serve passes; none: no flags)
  -h, --help         show this help`;

interface MemoryOptions {
  engines: EngineKind[];
  instances: number[];
  settleSeconds: number;
  clients: number;
  requests: number;
  maxAddedMb: number;
  check: boolean;
  serverMain?: string;
  v8Flags?: string[];
  help?: boolean;
}

function parse(args: string[]): MemoryOptions {
  const { values } = parseFlags({
    args,
    options: {
      engine: { type: "string" },
      instances: { type: "string" },
      settle: { type: "string" },
      clients: { type: "string" },
      requests: { type: "string" },
      "max-added-mb": { type: "string" },
      check: { type: "boolean" },
      "server-main": { type: "string" },
      "v8-flags": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const engines = (values.engine ?? "wasm").split(",").map((e) =>
    choiceFlag("engine", e.trim(), ENGINE_KINDS, "wasm")
  );
  const instances = listFlag("instances", values.instances, [1, 2, 3, 4], { min: 1, max: 64 });
  if (!instances.includes(1)) {
    throw new UsageError("--instances must include 1: each added instance is measured against it");
  }
  return {
    engines,
    instances: [...new Set(instances)].sort((a, b) => a - b),
    settleSeconds: numberFlag("settle", values.settle, 3, { min: 0 }),
    clients: intFlag("clients", values.clients, 256, { min: 1, max: 5000 }),
    requests: intFlag("requests", values.requests, 20, { min: 1 }),
    maxAddedMb: numberFlag("max-added-mb", values["max-added-mb"], 40, { min: 0 }),
    check: values.check ?? false,
    serverMain: pathFlag("server-main", values["server-main"]),
    v8Flags: v8FlagsFlag("v8-flags", values["v8-flags"]),
    help: values.help,
  };
}

/** One server's readings, MB. */
interface Reading {
  engine: EngineKind;
  instances: number;
  idleMb: number;
  loadedMb: number;
  failed: number;
}

const MB = 1024 * 1024;

/** Starts a server with `instances`, reads its RSS idle and at the peak of a load, stops it. */
async function measure(
  engine: EngineKind,
  instances: number,
  options: MemoryOptions,
): Promise<Reading> {
  const server = await spawnServer({
    engine,
    instances,
    main: options.serverMain,
    v8Flags: options.v8Flags,
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, options.settleSeconds * 1000));
    const idle = await server.rssBytes();
    let peak = idle;
    const sampler = setInterval(async () => {
      peak = Math.max(peak, await server.rssBytes().catch(() => 0));
    }, 50);
    const runner = new LoadRunner({
      hostname: server.hostname,
      port: server.port,
      httpPort: server.httpPort ?? 0,
      protocol: "framed",
      digits: "u8",
      keepAlive: true,
      garbage: false,
      clients: options.clients,
      firstClient: 0,
      requests: options.requests,
      durationMs: 60_000,
      timeoutMs: 30_000,
    }, syntheticDigits(100));
    const result = await runner.run();
    clearInterval(sampler);
    peak = Math.max(peak, await server.rssBytes());
    const failed = Object.values(result.errors).reduce((a, b) => a + b, 0);
    return { engine, instances, idleMb: idle / MB, loadedMb: peak / MB, failed };
  } finally {
    await server.stop();
  }
}

/** What each instance above the first costs: (RSS at K − RSS at 1) ÷ (K − 1). */
export function addedPerInstance(at1: number, atK: number, k: number): number {
  return k === 1 ? NaN : (atK - at1) / (k - 1);
}

const options = parseOrExit("bench:memory", parse, Deno.args, USAGE);
const readings: Reading[] = [];
for (const engine of options.engines) {
  for (const k of options.instances) {
    await Deno.stderr.write(new TextEncoder().encode(`${engine} × ${k}...\n`));
    readings.push(await measure(engine, k, options));
  }
}
const rows: (string | number)[][] = [];
let over = 0;
for (const r of readings) {
  const one = readings.find((o) => o.engine === r.engine && o.instances === 1)!;
  const idleAdded = addedPerInstance(one.idleMb, r.idleMb, r.instances);
  const loadedAdded = addedPerInstance(one.loadedMb, r.loadedMb, r.instances);
  if (idleAdded > options.maxAddedMb || loadedAdded > options.maxAddedMb || r.failed > 0) over++;
  rows.push([
    r.engine,
    r.instances,
    fixed(r.idleMb, 1),
    fixed(r.loadedMb, 1),
    fixed(idleAdded, 1),
    fixed(loadedAdded, 1),
    r.failed,
  ]);
}
console.log(
  formatTable(
    ["engine", "instances", "idle MB", "loaded MB", "idle +MB/inst", "loaded +MB/inst", "failed"],
    rows,
  ),
);
console.log(
  `\n+MB/inst: (RSS at K − RSS at 1) ÷ (K − 1); loaded: the peak of readings every 50 ms under ` +
    `${options.clients} framed keep-alive clients × ${options.requests} requests.`,
);
if (options.check && over > 0) {
  console.log(
    `check: ${over} row(s) over ${options.maxAddedMb} MB per added instance or with failed requests`,
  );
  Deno.exit(1);
}
