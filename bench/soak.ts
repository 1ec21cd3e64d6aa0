/**
 * `deno task bench:soak`: sends requests one at a time to a server started as
 * `deno task serve` starts it, and reports the server's resident memory after
 * warm-up and at the end: a leak per request or per engine run shows as
 * growth. Prints the figures; exits 0 whatever they are (a measurement, not a
 * test).
 *
 * @example
 * ```sh
 * deno task bench:soak                         # 150,000 framed requests
 * deno task bench:soak --requests 1000000 --warmup 20000 --protocol legacy
 * ```
 * @module
 */
import { InferenceClient, legacyInfer } from "../client/client.ts";
import { Status } from "../shared/errors.ts";
import { intFlag, parseOrExit, pathFlag } from "./_cli.ts";
import { parseFlags, UsageError } from "../cli/args.ts";
import { spawnServer } from "../server/testing/server_process.ts";

const USAGE = `Usage: deno task bench:soak [options]

Sends requests one at a time and reports the server's RSS after warm-up and at the end.

Options:
  --requests N      requests after warm-up (default 150000)
  --warmup N        requests before the first RSS reading (default 10000)
  --protocol P      framed (one keep-alive connection) or legacy (a connection per request) (default framed)
  --instances K     the server's --instances (default 1)
  --server-main F   start this entry point instead of server/main.ts (an older copy, to compare)
  -h, --help        show this help`;

interface SoakOptions {
  requests: number;
  warmup: number;
  protocol: "framed" | "legacy";
  instances: number;
  serverMain?: string;
  help?: boolean;
}

function parse(args: string[]): SoakOptions {
  const { values } = parseFlags({
    args,
    options: {
      requests: { type: "string" },
      warmup: { type: "string" },
      protocol: { type: "string" },
      instances: { type: "string" },
      "server-main": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const protocol = values.protocol ?? "framed";
  if (protocol !== "framed" && protocol !== "legacy") {
    throw new UsageError(`--protocol must be framed or legacy, got "${protocol}"`);
  }
  return {
    requests: intFlag("requests", values.requests, 150_000, { min: 1 }),
    warmup: intFlag("warmup", values.warmup, 10_000, { min: 0 }),
    protocol,
    instances: intFlag("instances", values.instances, 1, { min: 1 }),
    serverMain: pathFlag("server-main", values["server-main"]),
    help: values.help,
  };
}

const options = parseOrExit("bench:soak", parse, Deno.args, USAGE);
const server = await spawnServer(
  options.serverMain
    ? { main: options.serverMain }
    : { extraArgs: ["--instances", String(options.instances)] },
);
const address = { hostname: server.hostname, port: server.port };
const client = options.protocol === "framed" ? await InferenceClient.connect(address) : null;
const digit = new Uint8Array(784).fill(40);
const floats = new Float32Array(784).fill(0.2);
let failures = 0;

/** RSS readings taken every tenth of the soak, to tell a steady climb from a step. */
const readings: number[] = [];

async function send(count: number, label: string): Promise<void> {
  const step = Math.max(1, Math.floor(count / 20));
  for (let i = 0; i < count; i++) {
    if (client) {
      const reply = await client.infer({ digitU8: digit });
      if (reply.status !== Status.OK) failures++;
    } else {
      try {
        await legacyInfer(address, floats);
      } catch {
        failures++;
      }
    }
    if (label === "soak" && i % Math.max(1, Math.floor(count / 10)) === 0) {
      readings.push(await server.rssBytes());
    }
    if (i % step === 0) {
      await Deno.stderr.write(new TextEncoder().encode(`\r${label} ${i}/${count}`));
    }
  }
  await Deno.stderr.write(new TextEncoder().encode(`\r${label} ${count}/${count}\n`));
}

try {
  await send(options.warmup, "warm-up");
  const before = await server.rssBytes();
  const started = performance.now();
  await send(options.requests, "soak");
  const seconds = (performance.now() - started) / 1000;
  const after = await server.rssBytes();
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  console.log(
    `soak: ${options.requests} ${options.protocol} requests one at a time in ${
      seconds.toFixed(1)
    } s ` +
      `(${Math.round(options.requests / seconds)} req/s), ${failures} failed`,
  );
  console.log(
    `server RSS: ${mb(before)} MB after ${options.warmup} warm-up requests, ${
      mb(after)
    } MB after ` +
      `${options.requests} more: ${(((after - before) / before) * 100).toFixed(2)}% growth`,
  );
  console.log(`RSS every tenth of the soak (MB): ${readings.map(mb).join(" ")} ${mb(after)}`);
} finally {
  client?.close();
  await server.stop();
}
