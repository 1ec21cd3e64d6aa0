/**
 * `deno task bench:reload`: model swaps under load. A server started as
 * `deno task serve` starts it serves a scratch copy of the model repository;
 * framed keep-alive clients and legacy one-shot clients send digits without
 * pause while a new version folder is copied in (copy, then `mv`) every few
 * seconds. Prints failures, dropped connections, replies per version, p99
 * without and during swaps, and the server's RSS before and after. With
 * `--rollout`, instead of swaps: a candidate is copied in, then shadowed,
 * canaried to half the boards, promoted and rolled back through the admin
 * API (`rollout_steps.ts`); failures, p99 and versions are printed per step.
 *
 * @example
 * ```sh
 * deno task bench:reload                        # 20 swaps, 500 framed + 500 legacy clients
 * deno task bench:reload --swaps 5 --reload-every 1 --framed 50 --legacy 50
 * deno task bench:reload --rollout --reload-every 3 --framed 50 --legacy 50 --settle 0
 * ```
 * @module
 */
import { InferenceClient, legacyInfer } from "../client/client.ts";
import { Status } from "../shared/errors.ts";
import { formatTable, intFlag, numberFlag, parseOrExit } from "./_cli.ts";
import { parseFlags } from "../cli/args.ts";
import { spawnServer } from "../server/testing/server_process.ts";
import { percentile, sorted } from "./stats.ts";
import { Command } from "../shared/codec.ts";
import { addCandidate, runRolloutSteps } from "./rollout_steps.ts";

const USAGE = `Usage: deno task bench:reload [options]

Swaps model versions in a running server's repository while clients send digits, and counts
what the swaps cost.

Options:
  --swaps N          versions copied in, one at a time (default 20)
  --reload-every S   seconds between two versions (default 2)
  --framed N         framed keep-alive clients (default 500)
  --legacy N         legacy one-shot clients, a connection per request (default 500)
  --baseline S       seconds of load before the first swap, for the p99 without swaps (default 5)
  --settle S         seconds after the load before the last RSS reading (default 30)
  --rollout          instead of swaps: shadow, canary, promote and rollback of a candidate
                     through the admin API, one step every --reload-every seconds
  -h, --help         show this help`;

interface Options {
  swaps: number;
  reloadEvery: number;
  framed: number;
  legacy: number;
  baseline: number;
  settle: number;
  rollout?: boolean;
  help?: boolean;
}

function parse(args: string[]): Options {
  const { values } = parseFlags({
    args,
    options: {
      swaps: { type: "string" },
      "reload-every": { type: "string" },
      framed: { type: "string" },
      legacy: { type: "string" },
      baseline: { type: "string" },
      settle: { type: "string" },
      rollout: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  return {
    swaps: intFlag("swaps", values.swaps, 20, { min: 1, max: 1000 }),
    reloadEvery: numberFlag("reload-every", values["reload-every"], 2, { min: 0.1 }),
    framed: intFlag("framed", values.framed, 500, { min: 0, max: 5000 }),
    legacy: intFlag("legacy", values.legacy, 500, { min: 0, max: 5000 }),
    baseline: numberFlag("baseline", values.baseline, 5, { min: 1 }),
    settle: numberFlag("settle", values.settle, 30, { min: 0 }),
    rollout: values.rollout,
    help: values.help,
  };
}

const BUNDLED = new URL("../models/mnist/1/", import.meta.url).pathname;

/** Copies the bundled version in as `version`, the way the README says: aside, then `mv`. */
async function addVersion(root: string, version: number): Promise<void> {
  const staging = `${root}/.incoming-${version}`;
  await Deno.mkdir(staging);
  for (const file of ["model.onnx", "model.json"]) {
    await Deno.copyFile(`${BUNDLED}/${file}`, `${staging}/${file}`);
  }
  await Deno.rename(staging, `${root}/mnist/${version}`);
}

interface Sample {
  at: number;
  ms: number;
  ok: boolean;
  version: number;
}

const options = parseOrExit("bench:reload", parse, Deno.args, USAGE);
const root = await Deno.makeTempDir({ prefix: "mnist-reload-" });
await Deno.mkdir(`${root}/mnist`);
await addVersion(root, 1);
const ADMIN_TOKEN = crypto.randomUUID();
const server = await spawnServer({
  allowWrite: options.rollout ? root : undefined,
  extraArgs: [
    "--model-repository",
    root,
    ...(options.rollout ? ["--admin-token", ADMIN_TOKEN] : []),
  ],
});
const address = { hostname: server.hostname, port: server.port };
const samples: Sample[] = [];
let dropped = 0;
let running = true;
const digit = new Uint8Array(784).fill(30);
const floats = new Float32Array(784).fill(0.1);

async function framedClient(_: unknown, index: number): Promise<void> {
  let client: InferenceClient;
  try {
    client = await InferenceClient.connect(address);
  } catch {
    dropped++;
    return;
  }
  while (running) {
    const started = performance.now();
    try {
      // Each board its own device id: a canary's cohort splits them.
      const reply = await client.send({
        command: Command.INFERENCE_INPUT,
        digitU8: digit,
        device: `bench-${index}`,
      });
      samples.push({
        at: started,
        ms: performance.now() - started,
        ok: reply.status === Status.OK,
        version: reply.modelVersion ?? 0,
      });
    } catch {
      dropped++;
      break;
    }
  }
  client.close();
}

async function legacyClient(): Promise<void> {
  while (running) {
    const started = performance.now();
    try {
      await legacyInfer(address, floats);
      samples.push({ at: started, ms: performance.now() - started, ok: true, version: 0 });
    } catch {
      samples.push({ at: started, ms: performance.now() - started, ok: false, version: 0 });
    }
  }
}

const clients = [
  ...Array.from({ length: options.framed }, framedClient),
  ...Array.from({ length: options.legacy }, legacyClient),
];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
try {
  await sleep(options.baseline * 1000);
  const swapsFrom = performance.now();
  const rssBefore = await server.rssBytes();
  const steps: { name: string; at: number }[] = [];
  if (options.rollout) {
    await addCandidate(root, BUNDLED, 2);
    await runRolloutSteps(
      server.httpPort!,
      ADMIN_TOKEN,
      options.reloadEvery * 1000,
      (name, at) => steps.push({ name, at }),
    );
  }
  for (let i = 0; i < (options.rollout ? 0 : options.swaps); i++) {
    await addVersion(root, i + 2);
    await Deno.stderr.write(new TextEncoder().encode(`\rswap ${i + 1}/${options.swaps}`));
    await sleep(options.reloadEvery * 1000);
  }
  await Deno.stderr.write(new TextEncoder().encode("\n"));
  running = false;
  await Promise.all(clients);
  // Terminated workers' memory goes back when their isolates are torn down, a few seconds later.
  await sleep(options.settle * 1000);
  const rssAfter = await server.rssBytes();
  const p99 = (list: Sample[]) => percentile(sorted(list.map((s) => s.ms)), 99);
  const before = samples.filter((s) => s.at < swapsFrom);
  const during = samples.filter((s) => s.at >= swapsFrom);
  const versions = new Map<number, number>();
  for (const s of during) {
    if (s.version) versions.set(s.version, (versions.get(s.version) ?? 0) + 1);
  }
  const what = options.rollout ? "steps" : "swaps";
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  console.log(formatTable(["", "requests", "failed", "p99 ms"], [
    [
      `before the ${what}`,
      before.length,
      before.filter((s) => !s.ok).length,
      p99(before).toFixed(1),
    ],
    [
      `during the ${what}`,
      during.length,
      during.filter((s) => !s.ok).length,
      p99(during).toFixed(1),
    ],
  ]));
  if (options.rollout) {
    const rows = [{ name: "before", at: 0 }, ...steps].map((step, i, all) => {
      const until = all[i + 1]?.at ?? Infinity;
      const list = samples.filter((s) => s.at >= step.at && s.at < until);
      const byVersion = new Map<number, number>();
      for (const s of list) {
        if (s.version) byVersion.set(s.version, (byVersion.get(s.version) ?? 0) + 1);
      }
      return [
        step.name,
        list.length,
        list.filter((s) => !s.ok).length,
        p99(list).toFixed(1),
        (p99(list) / p99(before)).toFixed(2) + "x",
        [...byVersion].sort(([a], [b]) => a - b).map(([v, n]) => `v${v}=${n}`).join(" "),
      ];
    });
    console.log(
      formatTable(["step", "requests", "failed", "p99 ms", "p99/before", "framed replies"], rows),
    );
  }
  console.log(
    `${
      options.rollout ? "a rollout (shadow, canary, promote, rollback)" : options.swaps + " swaps"
    } every ${options.reloadEvery} s under ${options.framed} framed + ` +
      `${options.legacy} legacy clients: ${samples.filter((s) => !s.ok).length} failed, ` +
      `${dropped} dropped connections; p99 during/before ${
        (p99(during) / p99(before)).toFixed(2)
      }x`,
  );
  console.log(
    `framed replies by model version during the swaps: ${
      [...versions].sort(([a], [b]) => a - b).map(([v, n]) => `v${v}=${n}`).join(" ")
    }`,
  );
  console.log(
    `server RSS ${mb(rssBefore)} before the swaps, ${mb(rssAfter)} ${options.settle} s after: ${
      (((rssAfter - rssBefore) / rssBefore) * 100).toFixed(1)
    }%`,
  );
} finally {
  running = false;
  await server.stop();
  await Deno.remove(root, { recursive: true });
}
