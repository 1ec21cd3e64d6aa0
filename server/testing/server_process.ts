/**
 * Runs the inference server as `deno task serve` runs it, in a subprocess on
 * a free loopback port, so a load test puts the server and the load in one
 * run but in separate processes (as a legacy server and C++
 * stress tool were). `stop()` sends SIGTERM and waits for the exit.
 *
 * @example
 * ```ts
 * import { spawnServer } from "./server_process.ts";
 *
 * const server = await spawnServer({ threads: 1 });
 * console.log(server.port, server.describe);
 * await server.stop();
 * ```
 * @module
 */

import { ENGINE_V8_FLAGS } from "../engine/ort_wasm.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Options passed to `server/main.ts`. */
export interface ServerProcessOptions {
  /** WASM threads (`--threads`, default 1). */
  threads?: number;
  /** `--max-batch` (the server's default when absent). */
  maxBatch?: number;
  /** `--model` (the server's default when absent). */
  model?: string;
  /**
   * The server's entry point (default: this repository's `server/main.ts`); another
   * path runs a changed copy, to measure a proposed server change without editing it.
   */
  main?: string;
  /** `--instances` (the server's default when absent). */
  instances?: number;
  /** `--engine` (the server's default when absent). */
  engine?: string;
  /** A folder the server may write (`--allow-write=`): a repository it promotes in. */
  allowWrite?: string;
  /** More arguments for the server, after the others (a later flag wins). */
  extraArgs?: string[];
  /** V8 flags for the server's Deno (default: `ENGINE_V8_FLAGS`, as `deno task serve` passes; [] for none). */
  v8Flags?: readonly string[];
  /** `--listeners` (listener Workers; above 1 the server runs with `--unstable-net`). */
  listeners?: number;
  /** Pin the server to these CPUs (`taskset -c`). */
  cpus?: string;
  /** How long to wait for the server's first line, in ms (default 30 s). */
  startTimeoutMs?: number;
}

/** A server subprocess. */
export interface ServerProcess {
  hostname: string;
  port: number;
  /** The HTTP port from the start line's `http=HOST:PORT`, null without one. */
  httpPort: number | null;
  pid: number;
  /** The line the server printed at start (its address, model and engine). */
  describe: string;
  /**
   * Sends SIGTERM and resolves with the exit code once it has stopped; a
   * server still running `killAfterMs` later (default 5 s) gets SIGKILL, and
   * `killed` says so.
   */
  stop(killAfterMs?: number): Promise<number>;
  /** Whether `stop()` had to kill the server. */
  readonly killed: boolean;
  /** Whatever the server wrote to stderr so far (its errors). */
  stderr(): string;
  /** The server's resident set now, in bytes (Linux `/proc`). */
  rssBytes(): Promise<number>;
}

/**
 * A server that ended, or never said it was listening, before it started:
 * `sentence` is its own one line (`serve: ...` without the prefix) when it
 * printed one, else the first line of what it printed, and `code` its exit code (2: a mistake in its flags or
 * set-up, such as an engine that is not installed), null when it was
 * stopped for taking too long.
 */
export class ServerStartError extends Error {
  override name = "ServerStartError";
  readonly sentence: string;
  readonly code: number | null;

  constructor(output: string, code: number | null) {
    super(`the server did not start: ${output}`);
    const own = output.split("\n").findLast((line) => line.startsWith("serve: "));
    this.sentence = own ? own.slice("serve: ".length) : output.split("\n")[0];
    this.code = code;
  }
}

/** A process's resident set in bytes, from Linux's `/proc/<pid>/status`. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(status.match(/VmRSS:\s+(\d+) kB/)![1]) * 1024;
}

/** Reads a stream to its end in the background, keeping the text. */
function drain(stream: ReadableStream<Uint8Array>, into: { text: string }): Promise<void> {
  return stream.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write(chunk) {
        into.text = (into.text + chunk).slice(-16_384);
      },
    }),
  ).catch(() => {});
}

/** Starts `server/main.ts` on 127.0.0.1 with `--port 0` and waits for its listening line. */
export async function spawnServer(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const v8Flags = options.v8Flags ?? ENGINE_V8_FLAGS;
  const args = [
    "run",
    ...(v8Flags.length > 0 ? [`--v8-flags=${v8Flags.join(",")}`] : []),
    "--allow-net",
    "--allow-read",
    "--allow-env",
    ...(options.listeners && options.listeners > 1 ? ["--unstable-net"] : []),
    // onnxruntime-node's native library (--engine native); the WASM engine loads none.
    ...(options.engine === "native" ? ["--allow-ffi"] : []),
    ...(options.allowWrite ? [`--allow-write=${options.allowWrite}`] : []),
    options.main ?? MAIN,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--log-level",
    "error",
    "--threads",
    String(options.threads ?? 1),
  ];
  // No drain on SIGTERM: nothing balances load onto a bench's server (a copy given as `main` may predate the flag).
  if (!options.main) args.push("--drain-seconds", "0");
  if (options.maxBatch) args.push("--max-batch", String(options.maxBatch));
  if (options.model) args.push("--model", options.model);
  if (options.instances) args.push("--instances", String(options.instances));
  if (options.engine) args.push("--engine", options.engine);
  if (options.listeners && options.listeners > 1) {
    args.push("--listeners", String(options.listeners));
  }
  if (options.extraArgs) args.push(...options.extraArgs);
  const pinned = options.cpus ? ["-c", options.cpus, Deno.execPath()] : [];
  const child = new Deno.Command(options.cpus ? "taskset" : Deno.execPath(), {
    args: [...pinned, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const err = { text: "" };
  const errDone = drain(child.stderr, err);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), options.startTimeoutMs ?? 30_000);
  });
  try {
    while (!out.includes("\n")) {
      const next = await Promise.race([reader.read(), timeout]);
      if (next === "timeout" || next.done) break;
      out += next.value;
    }
  } finally {
    clearTimeout(timer);
  }
  const line = out.split("\n")[0];
  const match = line.match(/listening on ([\d.]+):(\d+)/);
  if (!match) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    const status = await child.status;
    await errDone;
    throw new ServerStartError(
      (err.text || line || "no output").trim(),
      status.signal === "SIGKILL" ? null : status.code,
    );
  }
  // Keep reading stdout so the server never blocks on a full pipe.
  const outDone = (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch {
      // The process ended.
    }
  })();
  let stopping: Promise<number> | undefined;
  let killed = false;
  const signal = (name: Deno.Signal) => {
    try {
      child.kill(name);
    } catch {
      // Already exited.
    }
  };
  return {
    hostname: match[1],
    port: Number(match[2]),
    httpPort: Number(line.match(/ http=\S*:(\d+)/)?.[1] ?? NaN) || null,
    pid: child.pid,
    describe: line.replace(/^.*?mnist-server /, ""),
    stderr: () => err.text,
    rssBytes: () => rssBytes(child.pid),
    get killed() {
      return killed;
    },
    stop(killAfterMs = 5000) {
      stopping ??= (async () => {
        signal("SIGTERM");
        // A server whose engine hangs never finishes draining: do not wait for it forever.
        const timer = setTimeout(() => {
          killed = true;
          signal("SIGKILL");
        }, killAfterMs);
        try {
          const status = await child.status;
          await Promise.all([outDone, errDone]);
          return status.code;
        } finally {
          clearTimeout(timer);
        }
      })();
      return stopping;
    },
  };
}
