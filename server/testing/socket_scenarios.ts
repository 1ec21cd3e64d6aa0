/**
 * Scenarios that open thousands of sockets, run in a subprocess with a raised
 * file limit (`runScenario` does the `ulimit -n`): a real server and its
 * clients in one process; the result is printed as one JSON line.
 *
 * @example
 * ```sh
 * bash -c 'ulimit -n 8192 && deno run --allow-net --allow-read --allow-env server/testing/socket_scenarios.ts timeouts 1000'
 * ```
 * @module
 */
import { decodeReply } from "../../shared/codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { oldClientRequest } from "../../shared/testing.ts";
import { Logger } from "../log.ts";
import { type ServerOptions, startServer } from "../server.ts";
import { readAll } from "./conn.ts";
import { writeAll } from "../write_all.ts";
import { sh, splitFramed } from "./server.ts";

const here = new URL(".", import.meta.url).pathname;

/** Runs one scenario in a subprocess with `files` descriptors allowed; resolves with its JSON. */
export async function runScenario(
  files: number,
  args: (string | number)[],
): Promise<Record<string, number>> {
  const out = await sh(
    `ulimit -n ${files} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; ` +
      `exec deno run --allow-net --allow-read --allow-env ${here}socket_scenarios.ts ${
        args.join(" ")
      }`,
  );
  if (out.code !== 0) throw new Error(`scenario ${args.join(" ")} failed:\n${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").at(-1)!);
}

/** A `serve` subprocess: its port, the rest of its stdout (its report comes at the end), the process. */
export interface ScenarioServer {
  port: number;
  child: Deno.ChildProcess;
  /** What stdout printed so far, and the lines still to come. */
  text: string;
  lines: AsyncIterableIterator<string>;
}

/**
 * Starts `socket_scenarios.ts serve` (of `script`, by default this file) in a
 * subprocess with `files` descriptors allowed; resolves once it listens.
 * `options` are `ServerOptions` numbers as `key=value`. Closing its stdin
 * stops it, and it prints its report as the last line.
 */
export async function spawnScenarioServer(
  files: number,
  options: string[],
  { script = `${here}socket_scenarios.ts`, stderr = "inherit" as "inherit" | "null" } = {},
): Promise<ScenarioServer> {
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n ${files} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; ` +
      `exec deno run --allow-net --allow-read --allow-env ${script} serve 0 ${options.join(" ")}`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr,
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).values();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await lines.next();
    if (done) throw new Error("the server ended before it listened");
    text += value;
  }
  const port = JSON.parse(text.split("\n")[0]).port as number;
  return { port, child, text, lines };
}

type Scenario = (n: number, options: ServerOptions) => Promise<Record<string, number>>;

const digit = Float32Array.from({ length: 784 }, (_, i) => (i % 28 > 8 && i % 28 < 20 ? 1 : 0));

/** `n` connections each send half a legacy message at once, then wait: each should get MALFORMED_BUFFER. */
const timeouts: Scenario = async (n, options) => {
  const server = await startServer(options);
  const port = server.addr.port;
  const half = oldClientRequest(digit).subarray(0, 1000);
  // Each sends as soon as it is connected: a connection that stays silent
  // for the read timeout is closed without a reply.
  const conns = await Promise.all(
    Array.from({ length: n }, async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await writeAll(conn, half);
      return conn;
    }),
  );
  const replies = await Promise.all(conns.map((c) => readAll(c)));
  for (const c of conns) c.close();
  let replied = 0;
  for (const bytes of replies) {
    const reply = decodeReply(bytes);
    if (!(reply instanceof WireError) && reply.status === Status.MALFORMED_BUFFER) replied++;
    else if (Deno.env.get("DEBUG")) {
      console.error(bytes.length, reply instanceof WireError ? reply.message : reply.error);
    }
  }
  await server.shutdown();
  return { total: n, replied };
};

/**
 * `n` framed connections each send a frame but for its last bytes (`size`
 * bytes of payload promised, default a digit-bytes request), then drip a byte
 * every 100 ms for up to `dripMs`: each should get one MALFORMED_BUFFER while
 * it is still dripping. Also reports the process's peak RSS growth (server
 * and clients together), in MB.
 */
const drip: Scenario = async (n, options) => {
  const size = Number(Deno.env.get("DRIP_SIZE") ?? 900);
  const dripMs = Number(Deno.env.get("DRIP_MS") ?? 6000);
  const server = await startServer(options);
  const port = server.addr.port;
  const rssBefore = Deno.memoryUsage().rss;
  let rssPeak = rssBefore;
  const frame = new Uint8Array(size - 16);
  const view = new DataView(frame.buffer);
  view.setUint32(0, size, true); // promises more than is ever sent
  view.setUint32(4, 8, true);
  frame.set([77, 78, 83, 84], 8);
  const conns = await Promise.all(
    Array.from({ length: n }, async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await writeAll(conn, frame);
      return conn;
    }),
  );
  let dripping = true;
  const dripper = (async () => {
    for (const end = performance.now() + dripMs; performance.now() < end;) {
      await new Promise((r) => setTimeout(r, 100));
      rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
      await Promise.all(conns.map((c) => c.write(new Uint8Array(1)).catch(() => 0)));
    }
    dripping = false;
  })();
  const outcomes = await Promise.all(
    conns.map(async (c) => ({ bytes: await readAll(c), whileDripping: dripping })),
  );
  await dripper;
  for (const c of conns) c.close();
  const result = { total: n, replied: 0, onSchedule: 0, busy: 0 };
  for (const { bytes, whileDripping } of outcomes) {
    const { replies } = splitFramed(bytes);
    if (replies.length !== 1) continue;
    if (replies[0].status === Status.SERVER_BUSY) result.busy++;
    if (replies[0].status !== Status.MALFORMED_BUFFER) continue;
    result.replied++;
    if (whileDripping) result.onSchedule++;
  }
  await server.shutdown();
  return { ...result, rssGrowthMB: Math.round((rssPeak - rssBefore) / 1e6) };
};

/**
 * A server alone (its clients are another process): prints `{"port": N}`,
 * serves until stdin ends, then prints what it logged and told observers.
 */
const serve: Scenario = async (_n, options) => {
  const lines: string[] = [];
  const reasons: Record<string, number> = {};
  const server = await startServer({
    ...options,
    log: new Logger("warn", (line) => lines.push(line)),
    onConnection: (e) => reasons[e.reason] = (reasons[e.reason] ?? 0) + 1,
  });
  console.log(JSON.stringify({ port: server.addr.port }));
  for await (const _ of Deno.stdin.readable) { /* until the test closes stdin */ }
  await server.shutdown();
  return {
    errorLines: lines.filter((l) => / ERROR /.test(l)).length,
    fdReserve: reasons["fd-reserve"] ?? 0,
    maxConnections: reasons["max-connections"] ?? 0,
  };
};

const scenarios: Record<string, Scenario> = { timeouts, drip, serve };

if (import.meta.main) {
  const [name, count, ...rest] = Deno.args;
  const options: ServerOptions = {
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger(Deno.env.get("DEBUG") ? "debug" : "error"),
    ...Object.fromEntries(rest.map((kv) => kv.split("=")).map(([k, v]) => [k, Number(v)])),
  };
  console.log(JSON.stringify(await scenarios[name](Number(count), options)));
  Deno.exit(0);
}
