/**
 * `deno task bench:inference`: the average time per inference after `--runs`
 * runs, as a Python notebook measures it (0.206 ms on a Ryzen
 * 2700x, 0.988 ms on a Jetson nano), for each batch size and WASM thread
 * count, two ways:
 *
 * - `engine`: through `server/engine/engine.ts`, the server's own path (a Worker fed
 *   through shared memory); the wall time per run includes that hand-off, so
 *   its samples/s is the most the server's engine can serve;
 * - `direct`: onnxruntime-web's `session.run` in a loop in a fresh Worker, no
 *   hand-off: the runtime's own cost.
 *
 * Model load times are measured too. `--runs` and `--max-seconds` bound each cell.
 *
 * @example
 * ```sh
 * deno task bench:inference                         # batches 1/8/32/128, threads 1 and 2, both ways
 * deno task bench:inference --runs 200 --via engine --threads 1 --json /tmp/inference.json
 * deno task bench:inference --via engine --threads 1 --instances 1,2   # two engines side by side
 * ```
 *
 * ```ts
 * import { bestRate, measureInference } from "./inference.ts";
 *
 * const report = await measureInference({ via: ["engine"], threads: [1], batches: [1, 32], runs: 50 });
 * console.log(bestRate(report)?.samplesPerSec);
 * ```
 * @module
 */
import { InferenceEngine } from "../server/engine/engine.ts";
import { DEFAULT_MODEL, loadModelFile } from "../server/models/model.ts";
import {
  choiceFlag,
  fixed,
  formatTable,
  intFlag,
  listFlag,
  numberFlag,
  parseFlags,
  parseOrExit,
  Progress,
  thousands,
} from "./_cli.ts";
import { loadDigits } from "./digits.ts";
import { summarize } from "./stats.ts";

/**
 * The ways of timing: the server's engine (WASM), onnxruntime-web directly,
 * and the server's engine with `--engine native` (onnxruntime-node; needs
 * `deno task install:native`).
 */
export const VIAS = ["engine", "direct", "native"] as const;
export type Via = typeof VIAS[number];

/** What `measureInference` runs. Every field has a default. */
export interface InferenceOptions {
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
  maxSeconds?: number;
  /** Untimed runs before each cell. */
  warmup?: number;
  onProgress?: (text: string) => void;
}

/** The raw times of one cell (one way, thread count and batch size). */
export interface CellResult {
  via: Via;
  threads: number;
  /** Engines running at once (1 for `direct`). */
  instances: number;
  batch: number;
  runs: number;
  /** `session.run` time of each run, in ms. */
  runMs: number[];
  /** The caller's wall time of each run, in ms (equal to `runMs` for `direct`). */
  wallMs: number[];
}

/** One row of the table. */
export interface CellSummary {
  via: Via;
  threads: number;
  instances: number;
  batch: number;
  runs: number;
  /** Mean `session.run` time divided by the batch: the notebook's "ms per inference". */
  msPerInference: number;
  /** Mean wall time of a run. */
  msPerRun: number;
  /** Median wall time of a run. */
  p50RunMs: number;
  /** Digits per second at the mean wall time, all instances together: `instances × batch / msPerRun × 1000`. */
  samplesPerSec: number;
}

/** How long loading took, per way and thread count. */
export interface LoadTime {
  via: Via | "file";
  threads: number;
  /** For `engine`: Worker start and session creation; `direct`: session creation; `file`: read and sha256. */
  ms: number;
}

/** Everything `measureInference` found. */
export interface InferenceReport {
  model: string;
  runtime: string;
  runs: number;
  loads: LoadTime[];
  cells: CellSummary[];
}

/** The message a direct-timing Worker gets. */
export interface DirectJob {
  model: Uint8Array;
  threads: number;
  batches: number[];
  runs: number;
  maxSeconds: number;
  warmup: number;
  input: Float32Array;
}

/** What a direct-timing Worker posts back. */
export type DirectMessage =
  | { type: "loaded"; loadMs: number; runtime: string }
  | { type: "cell"; cell: CellResult }
  | { type: "done" }
  | { type: "error"; message: string };

/** Averages one cell's times into a table row. */
export function summarizeCell(cell: CellResult): CellSummary {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const msPerRun = mean(cell.wallMs);
  return {
    via: cell.via,
    threads: cell.threads,
    instances: cell.instances,
    batch: cell.batch,
    runs: cell.runs,
    msPerInference: mean(cell.runMs) / cell.batch,
    msPerRun,
    p50RunMs: summarize(cell.wallMs).p50,
    samplesPerSec: (cell.instances * cell.batch / msPerRun) * 1000,
  };
}

/** The fastest row (most samples/s), among those `filter` keeps. */
export function bestRate(
  report: InferenceReport,
  filter: (cell: CellSummary) => boolean = () => true,
): CellSummary | undefined {
  let best: CellSummary | undefined;
  for (const cell of report.cells) {
    if (filter(cell) && (!best || cell.samplesPerSec > best.samplesPerSec)) best = cell;
  }
  return best;
}

/** Real digits, `n` of them back to back as floats 0..1. */
async function inputFor(n: number): Promise<Float32Array> {
  const { digits } = await loadDigits("mnist");
  const input = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) {
    const digit = digits[i % digits.length];
    for (let p = 0; p < 784; p++) input[i * 784 + p] = digit[p] / 255;
  }
  return input;
}

async function timeEngine(
  via: "engine" | "native",
  bytes: Uint8Array,
  threads: number,
  instances: number,
  options: Required<Omit<InferenceOptions, "model" | "via" | "threads" | "instances">>,
  input: Float32Array,
  report: InferenceReport,
): Promise<void> {
  const started = performance.now();
  const engines = await Promise.all(
    Array.from({ length: instances }, () =>
      InferenceEngine.start(bytes, {
        threads,
        maxBatch: Math.max(...options.batches),
        engine: via === "native" ? "native" : "wasm",
      })),
  );
  if (instances === 1) report.loads.push({ via, threads, ms: performance.now() - started });
  report.runtime = engines[0].shape.runtime.replace(/ \(.*/, "");
  const label = `${via}, ${instances > 1 ? `${instances} × ` : ""}${threads} thread(s)`;
  try {
    for (const batch of options.batches) {
      options.onProgress(`${label}, batch ${batch}`);
      const data = input.subarray(0, batch * 784);
      const cell: CellResult = { via, threads, instances, batch, runs: 0, runMs: [], wallMs: [] };
      const deadline = performance.now() + options.maxSeconds * 1000;
      // Every instance runs the same number of times, side by side.
      await Promise.all(engines.map(async (engine) => {
        for (let i = 0; i < options.warmup; i++) await engine.run(data, batch);
        for (let runs = 0; runs < options.runs && (runs === 0 || performance.now() < deadline);) {
          const t = performance.now();
          const { ms } = await engine.run(data, batch);
          cell.wallMs.push(performance.now() - t);
          cell.runMs.push(ms);
          runs++;
          if (++cell.runs % 100 === 0) {
            options.onProgress(`${label}, batch ${batch}: ${cell.runs} runs`);
          }
        }
      }));
      report.cells.push(summarizeCell(cell));
    }
  } finally {
    for (const engine of engines) engine.close();
  }
}

function timeDirect(
  bytes: Uint8Array,
  threads: number,
  options: Required<Omit<InferenceOptions, "model" | "via" | "threads" | "instances">>,
  input: Float32Array,
  report: InferenceReport,
): Promise<void> {
  const worker = new Worker(new URL("./_ort_worker.ts", import.meta.url).href, { type: "module" });
  options.onProgress(`direct, ${threads} thread(s): loading`);
  return new Promise<void>((resolve, reject) => {
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`direct worker failed: ${event.message}`));
    };
    worker.onmessage = (event: MessageEvent<DirectMessage>) => {
      const message = event.data;
      if (message.type === "loaded") {
        report.loads.push({ via: "direct", threads, ms: message.loadMs });
        if (!report.runtime) report.runtime = `onnxruntime-web ${message.runtime}`;
      } else if (message.type === "cell") {
        report.cells.push(summarizeCell(message.cell));
        options.onProgress(`direct, ${threads} thread(s), batch ${message.cell.batch} done`);
      } else if (message.type === "done") resolve();
      else reject(new Error(message.message));
    };
    const job: DirectJob = {
      model: bytes,
      threads,
      batches: options.batches,
      runs: options.runs,
      maxSeconds: options.maxSeconds,
      warmup: options.warmup,
      input,
    };
    worker.postMessage(job);
  }).finally(() => worker.terminate());
}

/** Times every cell (way × threads × batch) and the loads. */
export async function measureInference(options: InferenceOptions = {}): Promise<InferenceReport> {
  const settings = {
    batches: options.batches ?? [1, 8, 32, 128],
    runs: options.runs ?? 1000,
    maxSeconds: options.maxSeconds ?? 3,
    warmup: options.warmup ?? 20,
    onProgress: options.onProgress ?? (() => {}),
  };
  const modelPath = options.model ?? DEFAULT_MODEL;
  const started = performance.now();
  const model = await loadModelFile(modelPath, { verifyChecksum: false });
  const report: InferenceReport = {
    model: model.path,
    runtime: "",
    runs: settings.runs,
    loads: [{ via: "file", threads: 0, ms: performance.now() - started }],
    cells: [],
  };
  const input = await inputFor(Math.max(...settings.batches));
  for (const via of options.via ?? [...VIAS]) {
    for (const threads of options.threads ?? [1, 2]) {
      if (via === "direct") {
        await timeDirect(model.bytes, threads, settings, input, report);
        continue;
      }
      for (const instances of options.instances ?? [1]) {
        await timeEngine(via, model.bytes, threads, instances, settings, input, report);
      }
    }
  }
  return report;
}

/** The report as the table the command prints. */
export function formatInferenceTable(report: InferenceReport): string {
  const rows = report.cells.map((c) => [
    c.via,
    c.instances,
    c.threads,
    c.batch,
    c.runs,
    fixed(c.msPerInference, 4),
    fixed(c.msPerRun, 3),
    fixed(c.p50RunMs, 3),
    thousands(c.samplesPerSec),
  ]);
  const table = formatTable(
    [
      "way",
      "instances",
      "threads",
      "batch",
      "runs",
      "ms/inference",
      "ms/run",
      "p50 ms/run",
      "samples/s",
    ],
    rows,
  );
  const loads = report.loads.map((l) =>
    l.via === "file"
      ? `model file read + sha256: ${fixed(l.ms, 1)} ms`
      : `${l.via} load, ${l.threads} thread(s): ${fixed(l.ms, 1)} ms`
  );
  const best = bestRate(report);
  const single = report.cells.find((c) => c.batch === 1 && c.threads === 1);
  const lines = [table, "", ...loads];
  if (single) {
    lines.push(
      `Average inference time after ${thousands(single.runs)} runs (batch 1, ${single.via}, ` +
        `1 thread): ${fixed(single.msPerInference, 3)} ms`,
    );
  }
  if (best) {
    lines.push(
      `Best rate: ${thousands(best.samplesPerSec)} samples/s (${best.via}, ${best.instances} × ` +
        `${best.threads} thread(s), batch ${best.batch})`,
    );
  }
  return lines.join("\n");
}

const USAGE = `Usage: deno task bench:inference [options]

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
  --max-seconds S     cap on one cell's timed runs (default 3; at least one run)
  --warmup N          untimed runs before each cell (default 20)
  --json FILE         also write the results as JSON
  -q, --quiet         no progress on stderr
  -h, --help          show this help`;

/** The command's options from its arguments. */
export function parseInferenceArgs(args: string[]): InferenceOptions & {
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
      "max-seconds": { type: "string" },
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
    model: values.model,
    via: [...new Set(via)],
    threads: listFlag("threads", values.threads, [1, 2], { min: 1, max: 16 }),
    instances: listFlag("instances", values.instances, [1], { min: 1, max: 64 }),
    batches: listFlag("batches", values.batches, [1, 8, 32, 128], { min: 1, max: 4096 }),
    runs: intFlag("runs", values.runs, 1000, { min: 1, max: 10_000_000 }),
    maxSeconds: numberFlag("max-seconds", values["max-seconds"], 3, { min: 0, max: 3600 }),
    warmup: intFlag("warmup", values.warmup, 20, { min: 0, max: 100_000 }),
    json: values.json,
    quiet: values.quiet ?? false,
    help: values.help ?? false,
  };
}

async function main(): Promise<void> {
  const options = parseOrExit("bench:inference", parseInferenceArgs, Deno.args, USAGE);
  const progress = new Progress(!options.quiet);
  const report = await measureInference({ ...options, onProgress: (t) => progress.update(t) });
  progress.done();
  console.log(
    `${report.runtime}, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs`,
  );
  console.log(formatInferenceTable(report));
  if (options.json) {
    await Deno.writeTextFile(options.json, JSON.stringify(report, null, 2) + "\n");
  }
}

if (import.meta.main) await main();
