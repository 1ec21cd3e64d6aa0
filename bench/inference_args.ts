/**
 * `deno task bench:inference`'s flags: `InferenceBenchOptions` (what
 * `measureInference` runs), the usage text, and `parseInferenceArgs`, which
 * checks every flag and throws a `UsageError` with one line for the first
 * that is wrong.
 *
 * @example
 * ```ts
 * import { parseInferenceArgs } from "./inference_args.ts";
 *
 * const options = parseInferenceArgs(["--via", "engine", "--threads", "1", "--batches", "1,32"]);
 * console.log(options.via, options.threads, options.batches); // [ "engine" ] [ 1 ] [ 1, 32 ]
 * ```
 * @module
 */
import { choiceFlag, intFlag, listFlag, numberFlag, pathFlag } from "./_cli.ts";
import { parseFlags } from "../cli/args.ts";
import { type Via, VIAS } from "./inference_report.ts";

/** What `measureInference` runs. Every field has a default. */
export interface InferenceBenchOptions {
  model?: string | URL;
  via?: Via[];
  threads?: number[];
  batches?: number[];
  /**
   * Engine instances run side by side, as the server's `--instances` (engine
   * and native ways; default [1]): a cell's samples/s is theirs together.
   */
  instances?: number[];
  /** Timed runs per cell. */
  runs?: number;
  /** Cap on one cell's timed runs, in seconds (at least one run is always made). */
  durationSeconds?: number;
  /** Untimed runs before each cell. */
  warmup?: number;
  onProgress?: (text: string) => void;
}

/** The text `--help` prints. */
export const USAGE = `Usage: deno task bench:inference [options]

Average ms per inference (a Python notebook's figure) and samples/s, per batch size and
WASM thread count, through the server's engine (Worker + shared memory) and/or onnxruntime-web
directly; model load times too.

Options:
  --model FILE        ONNX model (default models/mnist/1/model.onnx)
  --via WAYS          engine (the server's WASM engine), direct (onnxruntime-web itself),
                      native (the server's engine with --engine native); a list, e.g.
                      engine,native (default engine,direct)
  --threads LIST      WASM thread counts (default 1,2)
  --instances LIST    engines run side by side, as the server's --instances (engine and
                      native ways; default 1); samples/s is theirs together
  --batches LIST      batch sizes (default 1,8,32,128)
  --runs N            timed runs per cell (default 1000)
  --duration S        cap on one cell's timed runs (default 3; at least one run)
  --warmup N          untimed runs before each cell (default 20)
  --json FILE         also write the results as JSON
  -q, --quiet         no progress on stderr
  -h, --help          show this help`;

/** The command's options from its arguments. */
export function parseInferenceArgs(args: string[]): InferenceBenchOptions & {
  json?: string;
  quiet: boolean;
  help: boolean;
} {
  const { values } = parseFlags({
    args,
    options: {
      model: { type: "string" },
      via: { type: "string" },
      threads: { type: "string" },
      instances: { type: "string" },
      batches: { type: "string" },
      runs: { type: "string" },
      "duration": { type: "string" },
      warmup: { type: "string" },
      json: { type: "string" },
      quiet: { type: "boolean", short: "q" },
      help: { type: "boolean", short: "h" },
    },
  });
  const via = (values.via ?? "engine,direct").split(",").map((v) =>
    choiceFlag("via", v.trim(), VIAS, "engine")
  );
  return {
    model: pathFlag("model", values.model),
    via: [...new Set(via)],
    threads: listFlag("threads", values.threads, [1, 2], { min: 1, max: 16 }),
    instances: listFlag("instances", values.instances, [1], { min: 1, max: 64 }),
    batches: listFlag("batches", values.batches, [1, 8, 32, 128], { min: 1, max: 4096 }),
    runs: intFlag("runs", values.runs, 1000, { min: 1, max: 10_000_000 }),
    durationSeconds: numberFlag("duration", values["duration"], 3, { min: 0, max: 3600 }),
    warmup: intFlag("warmup", values.warmup, 20, { min: 0, max: 100_000 }),
    json: values.json,
    quiet: values.quiet ?? false,
    help: values.help ?? false,
  };
}
