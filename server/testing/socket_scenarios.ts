/**
 * Scenarios that open thousands of sockets, run in a subprocess with a raised
 * file limit (`runScenario` does the `ulimit -n`): a real server in a process
 * of its own (`serve`, so a busy server cannot delay its clients' first bytes
 * past its own deadlines) and its clients; the result is printed as one JSON
 * line.
 *
 * @example
 * ```sh
 * bash -c 'ulimit -n 8192 && deno run --allow-net --allow-read --allow-env --allow-run server/testing/socket_scenarios.ts timeouts 1000'
 * ```
 * @module
 */
import { decodeReply } from "../../shared/reply_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { oldClientRequest } from "../../shared/testing.ts";
import { Logger } from "../log.ts";
import { startServer } from "../server.ts";
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
      `SCENARIO_FILES=${files} exec deno run --allow-net --allow-read --allow-env --allow-run ` +
      `${here}socket_scenarios.ts ${args.join(" ")}`,
  );
  if (out.code !== 0) throw new Error(`scenario ${args.join(" ")} failed:\n${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").at(-1)!);
}

/** A `serve` subprocess: its ports, the rest of its stdout (its report comes at the end), the process. */
export interface ScenarioServer {
  port: number;
  /** The HTTP port, when the options open it (`httpPort=0`); else null. */
  httpPort: number | null;
  child: Deno.ChildProcess;
  /** What stdout printed so far, and the lines still to come. */
  text: string;
  lines: AsyncIterableIterator<string>;
  /** The server's resident memory now, in MB (it reads `/proc`: Deno asks for `--allow-all`). */
  rssMB(): number;
  /** Closes its stdin and resolves with its report (killed if it has not ended in 20 s). */
  stop(): Promise<Record<string, number>>;
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
      `exec deno run --unstable-net --allow-net --allow-read --allow-env ${script} serve 0 ` +
      options.join(" "),
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
  const { port, httpPort } = JSON.parse(text.split("\n")[0]);
  return {
    port,
    httpPort,
    child,
    text,
    lines,
    rssMB(): number {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      return Number(status.match(/VmRSS:\s+(\d+)/)![1]) / 1024;
    },
    async stop(): Promise<Record<string, number>> {
      await child.stdin.close();
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      let rest = text;
      for (let r = await lines.next(); !r.done; r = await lines.next()) rest += r.value;
      const { code } = await child.status;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`the scenario server exited with ${code}`);
      return JSON.parse(rest.trim().split("\n").at(-1)!);
    },
  };
}

/** A scenario: `n` clients (or one server), with `ServerOptions` numbers as `key=value`. */
type Scenario = (n: number, options: string[]) => Promise<Record<string, number>>;

/** A `serve` subprocess with this process's file limit, for a scenario's clients. */
function scenarioServer(options: string[]): Promise<ScenarioServer> {
  return spawnScenarioServer(Number(Deno.env.get("SCENARIO_FILES") ?? 8192), options);
}

const digit = Float32Array.from({ length: 784 }, (_, i) => (i % 28 > 8 && i % 28 < 20 ? 1 : 0));

/** `n` connections each send half a legacy message at once, then wait: each should get MALFORMED_BUFFER. */
const timeouts: Scenario = async (n, options) => {
  const server = await scenarioServer(options);
  const port = server.port;
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
  await server.stop();
  return { total: n, replied };
};

/**
 * `n` framed connections each send a frame but for its last bytes (`size`
 * bytes of payload promised, default a digit-bytes request), then drip a byte
 * every 100 ms for up to `dripMs`: each should get one MALFORMED_BUFFER while
 * it is still dripping. Also reports the server's peak RSS growth, in MB.
 */
const drip: Scenario = async (n, options) => {
  const size = Number(Deno.env.get("DRIP_SIZE") ?? 900);
  const dripMs = Number(Deno.env.get("DRIP_MS") ?? 6000);
  const server = await scenarioServer(options);
  const port = server.port;
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
  const { rssGrowthMB } = await server.stop();
  return { ...result, rssGrowthMB };
};

/**
 * A server alone (its clients are another process): prints `{"port": N, "httpPort": M}`,
 * serves until stdin ends, then prints what it logged and told observers,
 * and its peak RSS growth in MB.
 */
const serve: Scenario = async (_n, args) => {
  const lines: string[] = [];
  const reasons: Record<string, number> = {};
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    ...Object.fromEntries(args.map((kv) => kv.split("=")).map(([k, v]) => [k, Number(v)])),
    log: new Logger("warn", (line) => lines.push(line)),
    onConnection: (e) => reasons[e.reason] = (reasons[e.reason] ?? 0) + 1,
  });
  console.log(JSON.stringify({ port: server.addr.port, httpPort: server.http?.addr.port ?? null }));
  const rssBefore = Deno.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss), 100);
  for await (const _ of Deno.stdin.readable) { /* until the test closes stdin */ }
  clearInterval(sampler);
  await server.shutdown();
  return {
    rssGrowthMB: Math.round((rssPeak - rssBefore) / 1e6),
    errorLines: lines.filter((l) => / ERROR /.test(l)).length,
    fdReserve: reasons["fd-reserve"] ?? 0,
    maxConnections: reasons["max-connections"] ?? 0,
  };
};

const scenarios: Record<string, Scenario> = { timeouts, drip, serve };

if (import.meta.main) {
  const [name, count, ...options] = Deno.args;
  console.log(JSON.stringify(await scenarios[name](Number(count), options)));
  Deno.exit(0);
}
