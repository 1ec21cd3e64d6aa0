/**
 * A board-port stand-in with no handler and no engine, for `bench:listeners`:
 * N listener Workers on one port (`Deno.listen({ reusePort: true })`, behind
 * `--unstable-net`), each accepting its own share of the connections (the
 * kernel spreads them) and answering every framed request with a fixed
 * `INFERENCE_OUTPUT` reply carrying the request's id, and a legacy request
 * with a fixed 96-byte reply and a close, as the server does. What is left is the
 * socket work a request costs the server: reads, frame decoding, the reply's
 * encoding and its write. It prints `listening on HOST:PORT listeners=N`, and
 * on SIGTERM `connections=a,b,...` (each listener's accepted count) before it
 * exits.
 *
 * @example
 * ```ts
 * import { spawnEchoListeners } from "./echo_listeners.ts";
 *
 * const echo = await spawnEchoListeners(2); // deno run --unstable-net ... echo_listeners.ts --listeners 2
 * console.log(echo.port, await echo.stop()); // 40123 [0, 0]
 * ```
 * @module
 */
/// <reference lib="deno.worker" />
import { Command } from "../shared/codec.ts";
import { encodeLegacyReply, encodeReply } from "../shared/reply_codec.ts";
import { peekRequestId } from "../shared/request_codec.ts";
import { detectFraming, FrameDecoder, legacyMessageEnd } from "../shared/frame.ts";
import { intFlag, parseOrExit } from "./_cli.ts";
import { parseFlags } from "../cli/args.ts";
import { tableDefault } from "../server/config.ts";
import { writeAll } from "../server/write_all.ts";
import { concatBytes } from "../shared/bytes.ts";

/** Messages between the main thread and a listener Worker. */
type ToListener = { type: "listen"; hostname: string; port: number } | { type: "count" };
type FromListener = { type: "listening"; port: number } | { type: "count"; accepted: number };

/** The name the listener Workers are started with: how this module knows it runs in one. */
const LISTENER = "echo-listener";
const MAX_FRAME = tableDefault("max-frame");
const SCORES = new Float32Array(10).fill(0.1);
const LEGACY_REPLY = encodeLegacyReply(SCORES, 0);

/** The reply to request `id`, framed. */
function reply(id: number): Uint8Array {
  return encodeReply({
    command: Command.INFERENCE_OUTPUT,
    requestId: id,
    scores: SCORES,
    predicted: 1,
    inferenceMs: 0,
    queueMs: 0,
    batchSize: 1,
    modelVersion: 1,
  }, true);
}

/** Answers every frame of one connection until it closes; one write per read's frames. */
async function serve(conn: Deno.Conn): Promise<void> {
  const frames = new FrameDecoder(MAX_FRAME);
  const buf = new Uint8Array(64 * 1024);
  let held = 0;
  let framing: "framed" | "legacy" | null = null;
  try {
    for (;;) {
      const n = await conn.read(buf.subarray(held));
      if (n === null) break;
      held += n;
      framing ??= detectFraming(buf.subarray(0, held));
      if (framing === null) continue;
      if (framing === "legacy") {
        // One bare request, one 96-byte reply, then the close (in `finally`).
        const end = legacyMessageEnd(buf.subarray(0, held), MAX_FRAME);
        if (typeof end !== "number") return;
        if (end > 0 && end <= held) return await writeAll(conn, LEGACY_REPLY);
        continue;
      }
      frames.push(buf.subarray(0, held));
      held = 0;
      const out: Uint8Array[] = [];
      for (let payload = frames.next(); payload !== null; payload = frames.next()) {
        if (!(payload instanceof Uint8Array)) return;
        out.push(reply(peekRequestId(payload)));
      }
      if (out.length === 1) await writeAll(conn, out[0]);
      else if (out.length > 1) await writeAll(conn, concatBytes(out));
    }
  } catch {
    // The client went away.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** In a listener Worker: listen when told, accept and serve, report the count when asked. */
function runListener(): void {
  let accepted = 0;
  self.onmessage = (event: MessageEvent<ToListener>) => {
    const message = event.data;
    if (message.type === "count") {
      self.postMessage({ type: "count", accepted } satisfies FromListener);
      return;
    }
    const listener = Deno.listen({
      hostname: message.hostname,
      port: message.port,
      reusePort: true,
    });
    self.postMessage({ type: "listening", port: listener.addr.port } satisfies FromListener);
    (async () => {
      for await (const conn of listener) {
        accepted++;
        conn.setNoDelay(true);
        serve(conn);
      }
    })();
  };
}

/** One reply from a Worker. */
function ask(worker: Worker, message: ToListener): Promise<FromListener> {
  return new Promise((resolve) => {
    worker.onmessage = (event: MessageEvent<FromListener>) => resolve(event.data);
    worker.postMessage(message);
  });
}

async function main(): Promise<void> {
  const options = parseOrExit(
    "echo_listeners",
    (args) => {
      const { values } = parseFlags({
        args,
        options: {
          listeners: { type: "string" },
          port: { type: "string" },
          help: { type: "boolean", short: "h" },
        },
      });
      return {
        listeners: intFlag("listeners", values.listeners, 1, { min: 1, max: 256 }),
        port: intFlag("port", values.port, 0, { min: 0, max: 65535 }),
        help: values.help,
      };
    },
    Deno.args,
    "Usage: echo_listeners.ts [--listeners N] [--port P]",
  );
  const hostname = "127.0.0.1";
  const workers: Worker[] = [];
  let port = options.port;
  for (let i = 0; i < options.listeners; i++) {
    const worker = new Worker(import.meta.url, { type: "module", name: LISTENER });
    workers.push(worker);
    const answer = await ask(worker, { type: "listen", hostname, port });
    if (answer.type === "listening") port = answer.port;
  }
  console.log(`listening on ${hostname}:${port} listeners=${options.listeners}`);
  Deno.addSignalListener("SIGTERM", async () => {
    const counts = [];
    for (const worker of workers) {
      const answer = await ask(worker, { type: "count" });
      counts.push(answer.type === "count" ? answer.accepted : 0);
    }
    console.log(`connections=${counts.join(",")}`);
    Deno.exit(0);
  });
}

const SELF = new URL(import.meta.url).pathname;

/** A running echo server: its port and pid; `stop()` ends it and resolves with each listener's accepted count. */
export interface EchoListeners {
  port: number;
  pid: number;
  stop(): Promise<number[]>;
}

/** Starts this module as a process with `listeners` Workers, pinned to `cpus` (taskset) when given. */
export async function spawnEchoListeners(listeners: number, cpus?: string): Promise<EchoListeners> {
  const deno = [Deno.execPath(), "run", "--unstable-net", "--allow-net", "--allow-read", SELF];
  const argv = [...(cpus ? ["taskset", "-c", cpus] : []), ...deno, "--listeners", `${listeners}`];
  const child = new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped" }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const next = await lines.read();
    if (next.done) throw new Error(`the echo server did not start: ${out}`);
    out += next.value;
  }
  return {
    port: Number(out.match(/listening on [\d.]+:(\d+)/)![1]),
    pid: child.pid,
    async stop(): Promise<number[]> {
      child.kill("SIGTERM");
      for (let r = await lines.read(); !r.done; r = await lines.read()) out += r.value;
      await child.status;
      return (out.match(/connections=([\d,]+)/)?.[1] ?? "").split(",").map(Number);
    },
  };
}

/** Runs `use(port)` against an echo server of one listener, started for it and stopped after. */
export async function withEchoServer<T>(use: (port: number) => Promise<T>): Promise<T> {
  const echo = await spawnEchoListeners(1);
  try {
    return await use(echo.port);
  } finally {
    await echo.stop();
  }
}

if (self.name === LISTENER) runListener();
else if (import.meta.main) await main();
