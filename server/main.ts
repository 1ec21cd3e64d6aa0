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
import { ENGINE_KINDS, type EngineKind } from "./engine/kinds.ts";
import { LOG_LEVELS, Logger, type LogLevel } from "./log.ts";
import { ModelError } from "./models/model.ts";
import { DEFAULT_PORT, DEFAULT_THREADS, startServer } from "./server.ts";

const USAGE = `Usage: deno task serve [options]

Serves MNIST inference over TCP to boards and other clients (legacy and framed protocols on one port).

Options:
  --host HOST                 address to listen on (default 0.0.0.0)
  --port PORT                 port (default ${DEFAULT_PORT}, the earlier design's)
  --model FILE                ONNX model, 784 inputs and 10 outputs per sample (default models/mnist.onnx)
  --allow-checksum-mismatch   serve a model whose sha256 differs from the metadata beside it
  --engine E                  ${
  ENGINE_KINDS.join(" or ")
} (default wasm; native needs 'deno task install:native')
  --threads N                 threads of the engine (default ${DEFAULT_THREADS})
  --max-batch N               most digits in one inference run (default 128)
  --log-level LEVEL           ${LOG_LEVELS.join(", ")} (default info; per-request lines at debug)
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
      model: { type: "string" },
      "allow-checksum-mismatch": { type: "boolean" },
      threads: { type: "string" },
      engine: { type: "string" },
      "max-batch": { type: "string" },
      "log-level": { type: "string" },
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
const log = new Logger(level);
const engine = (args.engine ?? "wasm") as EngineKind;
if (!ENGINE_KINDS.includes(engine)) fail(`--engine must be one of ${ENGINE_KINDS.join(", ")}`);

let server;
try {
  server = await startServer({
    hostname: args.host ?? "0.0.0.0",
    port: positiveInt("port", args.port, DEFAULT_PORT, 0),
    model: args.model,
    verifyChecksum: !args["allow-checksum-mismatch"],
    threads: positiveInt("threads", args.threads, DEFAULT_THREADS),
    engine,
    maxBatch: positiveInt("max-batch", args["max-batch"], 128),
    log,
  });
} catch (e) {
  if (e instanceof ModelError || e instanceof EngineError || e instanceof Deno.errors.AddrInUse) {
    fail(e.message);
  }
  throw e;
}
console.log(`mnist-server ${server.describe()}`);

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
await server.finished;
