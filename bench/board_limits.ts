/**
 * Measures the board port's defences against greedy and hostile clients, the
 * server in its own process (the load here), each scenario on a fresh server:
 *
 * - `pipelined`: 100,000 pipelined GET_STATS replies to a slow reader (a
 *   Python socket with a small receive buffer) that ended its side: replies
 *   received whole, and bytes of a cut-off one;
 * - `timeouts`: 1,000 half-sent legacy messages timing out at once: replies;
 * - `drip`: 10,000 connections each send a frame but its end (16 KB promised)
 *   and drip a byte every 4 s: how many were cut with MALFORMED_BUFFER before
 *   they stopped dripping, refused for the buffer budget, server RSS (the
 *   per-address cap is lifted: every dripper is on 127.0.0.1);
 * - `neighbours`: a good framed client (1,000 requests, one at a time)
 *   alone, then beside 20 flooders that keep 256 requests outstanding and
 *   20 clients that send without reading (in a Worker, for as long as the
 *   good client runs): its errors, p50 and p99, the medians and p99s of its
 *   queue wait and run time as the server reports them, and what the
 *   flooders got;
 * - `uploads`: on the HTTP port, 40 clients each declare a 4 MiB inference
 *   body, send 3 MiB of it and stall: how many were refused for the buffer
 *   budget (503) or cut at the body's deadline (400), whether a good
 *   inference is served meanwhile, server RSS.
 *
 * The server runs as `deno task serve` would (one engine instance per core);
 * `--set` changes its options.
 *
 * @example
 * ```sh
 * deno task bench:limits pipelined timeouts --runs 3
 * deno task bench:limits drip --tree /tmp/old-checkout   # the same against another tree
 * ```
 * @module
 */
import { exitOnUsageError, exitWithUsage, parseFlags } from "../cli/args.ts";
import { intFlag, pathFlag } from "./_cli.ts";
import { parseSets } from "./board_limits_args.ts";
import { Command } from "../shared/codec.ts";
import { decodeReply } from "../shared/reply_codec.ts";
import { Status, WireError } from "../shared/errors.ts";
import { oldClientRequest } from "../shared/testing.ts";
import { InferenceClient } from "../client/client.ts";
import { readAll } from "../server/testing/conn.ts";
import { writeAll } from "../server/write_all.ts";
import { framedBatch, slowReader, splitFramed } from "../server/testing/server.ts";
import { type ScenarioServer, spawnScenarioServer } from "../server/testing/socket_scenarios.ts";
import { autoInstances, tableDefault } from "../server/config.ts";
import { stalledUploads } from "./_stalled_uploads.ts";

const USAGE =
  `Usage: deno task bench:limits [pipelined] [timeouts] [drip] [neighbours] [uploads] [options]

Options:
  --runs N       runs of each scenario; medians are printed (default 1)
  --tree DIR     the checkout whose server is measured (default this one)
  --drippers N   connections of the drip scenario (default 10000)
  --uploaders N  clients of the uploads scenario (default 40)
  --set K=V      a server option (ServerOptions name, number) for every scenario,
                 e.g. --set instances=1 --set batchMs=0; repeatable (default: the
                 server's defaults, instances one per core as deno task serve); a
                 key the server does not take is refused with the list of those it does
  -h, --help     show this help`;

const TASK = "bench:limits";
let parsed;
try {
  parsed = parseFlags({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "1" },
      tree: { type: "string", default: new URL("..", import.meta.url).pathname },
      drippers: { type: "string", default: "10000" },
      uploaders: { type: "string", default: "40" },
      set: { type: "string", multiple: true, default: [] },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
} catch (e) {
  exitOnUsageError(TASK, e);
}
const { values: flags, positionals } = parsed;
if (flags.help) {
  console.log(USAGE);
  Deno.exit(0);
}
try {
  pathFlag("tree", `${flags.tree}/server/main.ts`);
} catch {
  exitWithUsage(TASK, `--tree ${flags.tree}: not a copy of the project (no server/main.ts in it)`);
}
let runs = 1, drippers = 10000, uploaders = 40;
try {
  runs = intFlag("runs", flags.runs, runs, { min: 1 });
  drippers = intFlag("drippers", flags.drippers, drippers, { min: 1 });
  uploaders = intFlag("uploaders", flags.uploaders, uploaders, { min: 1 });
} catch (e) {
  exitOnUsageError(TASK, e);
}

// The server as `deno task serve` runs it: one engine instance per core.
let serverOptions: Record<string, number>;
try {
  serverOptions = { instances: autoInstances(), ...parseSets(flags.set) };
} catch (e) {
  exitOnUsageError(TASK, e);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A server of `tree` in its own process with a high file limit; `options` are `ServerOptions` numbers. */
function serverProcess(options: Record<string, number> = {}): Promise<ScenarioServer> {
  return spawnScenarioServer(
    65536,
    Object.entries({ ...options, ...serverOptions }).map(([k, v]) => `${k}=${v}`),
    { script: `${flags.tree}/server/testing/socket_scenarios.ts`, stderr: "null" },
  );
}

type Result = Record<string, number>;

async function pipelined(): Promise<Result> {
  const server = await serverProcess();
  const count = 100_000;
  const bytes = await slowReader(server.port, framedBatch(count, Command.GET_STATS));
  await server.stop();
  const { replies, rest } = splitFramed(bytes);
  return { sent: count, received: replies.length, cutBytes: rest };
}

async function timeouts(): Promise<Result> {
  const server = await serverProcess({ messageTimeoutMs: 1000 });
  const half = oldClientRequest(new Float32Array(784)).subarray(0, 1000);
  const conns = await Promise.all(Array.from({ length: 1000 }, async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await writeAll(conn, half);
    return conn;
  }));
  const replies = await Promise.all(conns.map((c) => readAll(c)));
  for (const c of conns) c.close();
  await server.stop();
  const ok = replies.filter((b) => {
    const r = decodeReply(b);
    return !(r instanceof WireError) && r.status === Status.MALFORMED_BUFFER;
  });
  return { sent: 1000, replied: ok.length };
}

async function drip(): Promise<Result> {
  // Every dripper is on 127.0.0.1: lift the per-address cap (1,024) to measure the rest.
  const server = await serverProcess({ maxConnectionsPerAddress: 1_000_000 });
  await sleep(500);
  const idle = server.rssMB();
  // A frame of the largest size the server takes (its default --max-frame).
  const size = tableDefault("max-frame");
  const frame = new Uint8Array(size - 16);
  new DataView(frame.buffer).setUint32(0, size, true);
  new DataView(frame.buffer).setUint32(4, 8, true);
  frame.set([77, 78, 83, 84], 8);
  let peak = idle;
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < drippers; i += 500) {
    conns.push(
      ...await Promise.all(Array.from({ length: Math.min(500, drippers - i) }, async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
        writeAll(conn, frame).catch(() => {});
        return conn;
      })),
    );
  }
  let dripping = true;
  const dripper = (async () => {
    for (const end = performance.now() + 20_000; performance.now() < end;) {
      await sleep(4000);
      peak = Math.max(peak, server.rssMB());
      await Promise.all(conns.map((c) => c.write(new Uint8Array(1)).catch(() => 0)));
    }
    dripping = false;
  })();
  const sampler = setInterval(() => peak = Math.max(peak, server.rssMB()), 250);
  const outcomes = await Promise.all(
    conns.map(async (c) => ({ bytes: await readAll(c), dripping })),
  );
  clearInterval(sampler);
  const afterClose = server.rssMB();
  await dripper;
  for (const c of conns) c.close();
  await server.stop();
  const result: Result = { connections: drippers, cutOnSchedule: 0, busy: 0, other: 0 };
  for (const { bytes, dripping } of outcomes) {
    const { replies } = splitFramed(bytes);
    const status = replies.length === 1 ? replies[0].status : -1;
    if (status === Status.MALFORMED_BUFFER && dripping) result.cutOnSchedule++;
    else if (status === Status.SERVER_BUSY) result.busy++;
    else result.other++;
  }
  return {
    ...result,
    idleRssMB: Math.round(idle),
    peakRssMB: Math.round(peak),
    rssAfterMB: Math.round(afterClose),
  };
}

/**
 * `count` sequential requests from one framed client: errors, p50 and p99 in
 * ms, and the medians of what the server says each spent waiting in its
 * queue and in its run, and of its batch's size.
 */
async function goodClient(port: number, count: number) {
  const client = await InferenceClient.connect({ hostname: "127.0.0.1", port });
  const times: number[] = [];
  const queue: number[] = [];
  const run: number[] = [];
  const batch: number[] = [];
  let errors = 0;
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const reply = await client.infer({ digitU8: new Uint8Array(784) }).catch(() => null);
    times.push(performance.now() - t);
    if (!reply || reply.status !== Status.OK) errors++;
    else {
      queue.push(reply.queueMs);
      run.push(reply.inferenceMs);
      batch.push(reply.batchSize);
    }
  }
  client.close();
  const at = (values: number[], q: number) =>
    values.sort((a, b) => a - b)[Math.floor(values.length * q)] ?? 0;
  return {
    errors,
    p50: at(times, 0.5),
    p99: at(times, 0.99),
    queueP50: at(queue, 0.5),
    queueP99: at(queue, 0.99),
    runP50: at(run, 0.5),
    runP99: at(run, 0.99),
    batchP50: at(batch, 0.5),
  };
}

async function neighbours(): Promise<Result> {
  const server = await serverProcess();
  const idle = await goodClient(server.port, 1000);
  // The greedy clients run in a Worker: their replies are not the good
  // client's event loop's work, as on another machine.
  const greedy = new Worker(new URL("./_greedy_clients.ts", import.meta.url), { type: "module" });
  const done = new Promise<Result>((resolve) => greedy.onmessage = (e) => resolve(e.data));
  greedy.postMessage({ port: server.port, flooders: 20, nonReaders: 20, depth: 256 });
  await sleep(1000);
  const busy = await goodClient(server.port, 1000);
  greedy.postMessage("stop");
  const counts = await done;
  greedy.terminate();
  await server.stop();
  return {
    idleP50: round(idle.p50),
    idleP99: round(idle.p99),
    errors: busy.errors,
    p50: round(busy.p50),
    p99: round(busy.p99),
    queueP50: round(busy.queueP50),
    queueP99: round(busy.queueP99),
    runP50: round(busy.runP50),
    runP99: round(busy.runP99),
    batchP50: busy.batchP50,
    floodOk: counts.OK ?? 0,
    floodBusy: counts.SERVER_BUSY ?? 0,
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

const scenarios: Record<string, () => Promise<Result>> = {
  pipelined,
  timeouts,
  drip,
  neighbours,
  uploads: () => stalledUploads(serverProcess, uploaders),
};
const names = positionals.length ? positionals : Object.keys(scenarios);
// Every name is checked before the first scenario runs.
for (const name of names) {
  if (!scenarios[name]) {
    exitWithUsage(TASK, `no scenario "${name}"; there are ${Object.keys(scenarios).join(", ")}`);
  }
}
for (const name of names) {
  const scenario = scenarios[name];
  const results: Result[] = [];
  for (let i = 0; i < runs; i++) results.push(await scenario());
  const median: Result = {};
  for (const key of Object.keys(results[0])) {
    const values = results.map((r) => r[key]).sort((a, b) => a - b);
    median[key] = values[Math.floor(values.length / 2)];
  }
  console.log(`${name} (median of ${runs}): ${JSON.stringify(median)}`);
}
Deno.exit(0);
