/**
 * `deno task serve`: runs the inference server.
 *
 * @example
 * ```sh
 * deno task serve                       # 0.0.0.0:32001, bundled model
 * deno task serve --port 4000 --log-level debug
 * deno task serve --help
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { EngineError } from "./engine/engine.ts";
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, Logger, type LogLevel } from "./log.ts";
import { ModelError } from "./models/model.ts";
import { DEFAULT_HTTP_PORT, DEFAULT_PORT, DEFAULT_THREADS, startServer } from "./server.ts";

const USAGE = `Usage: deno task serve [options]

Serves MNIST inference over TCP to boards and other clients (legacy and framed protocols on one port).

Options:
  --host HOST                 address to listen on (default 0.0.0.0)
  --port PORT                 port (default ${DEFAULT_PORT}, the earlier design's; 0 picks a free one)
  --http-port PORT            HTTP port: Open Inference Protocol, /metrics, dashboard (default
                              ${DEFAULT_HTTP_PORT}; 0 picks a free one; --port 0 implies 0)
  --no-http                   no HTTP port
  --model FILE                ONNX model, 784 inputs and 10 outputs per sample (default models/mnist.onnx)
  --allow-checksum-mismatch   serve a model whose sha256 differs from the metadata beside it
  --threads N                 WASM threads for onnxruntime-web (default ${DEFAULT_THREADS})
  --max-batch N               most digits in one inference run (default 128)
  --log-level LEVEL           ${LOG_LEVELS.join(", ")} (default info; per-request lines at debug)
  --log-format FORMAT         ${LOG_FORMATS.join(" or ")} (default plain; json: one object per line)
  -h, --help                  show this help`;

function fail(message: string): never {
  console.error(`error: ${message}`);
  Deno.exit(2);
}

function positiveInt(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer ≥ ${min}, got "${text}"`);
  return n;
}

let args;
try {
  args = parseArgs({
    options: {
      host: { type: "string" },
      port: { type: "string" },
      "http-port": { type: "string" },
      "no-http": { type: "boolean" },
      model: { type: "string" },
      "allow-checksum-mismatch": { type: "boolean" },
      threads: { type: "string" },
      "max-batch": { type: "string" },
      "log-level": { type: "string" },
      "log-format": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
} catch (e) {
  fail(`${(e as Error).message}\n\n${USAGE}`);
}
if (args.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const level = (args["log-level"] ?? "info") as LogLevel;
if (!LOG_LEVELS.includes(level)) fail(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
const format = (args["log-format"] ?? "plain") as LogFormat;
if (!LOG_FORMATS.includes(format)) fail(`--log-format must be one of ${LOG_FORMATS.join(", ")}`);
const log = new Logger(level, undefined, format);
if (args["no-http"] && args["http-port"] !== undefined) {
  fail("--no-http and --http-port contradict");
}

let server;
try {
  server = await startServer({
    hostname: args.host ?? "0.0.0.0",
    port: positiveInt("port", args.port, DEFAULT_PORT, 0),
    httpPort: args["no-http"]
      ? null
      : args["http-port"] === undefined
      ? undefined
      : positiveInt("http-port", args["http-port"], DEFAULT_HTTP_PORT, 0),
    model: args.model,
    verifyChecksum: !args["allow-checksum-mismatch"],
    threads: positiveInt("threads", args.threads, DEFAULT_THREADS),
    maxBatch: positiveInt("max-batch", args["max-batch"], 128),
    log,
  });
} catch (e) {
  if (e instanceof ModelError || e instanceof EngineError || e instanceof Deno.errors.AddrInUse) {
    fail(e.message);
  }
  throw e;
}
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info("stopping", { signal, in_flight: server.queue.queued });
  // A stuck engine must not keep the process from stopping.
  const deadline = setTimeout(() => {
    log.error("shutdown did not finish within 10 s; exiting", { in_flight: server.queue.queued });
    Deno.exit(1);
  }, 10_000);
  await server.shutdown();
  clearTimeout(deadline);
  log.info("stopped", { served: server.queue.served });
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));

// The start line: programs read it from stdout line 1 (under json, from its fields too). It is
// printed after the signal handlers are in place, since a program may stop the server at once.
const httpAddr = server.http && `${server.http.addr.hostname}:${server.http.addr.port}`;
console.log(log.format(
  "info",
  `mnist-server ${server.describe()}`,
  format === "json"
    ? {
      address: `${server.addr.hostname}:${server.addr.port}`,
      http: httpAddr ?? undefined,
      model: server.model.path,
    }
    : undefined,
));
await server.finished;
