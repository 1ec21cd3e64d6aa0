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
 * Model load times are measured too. `--runs` and `--duration` bound each cell.
 * The flags are `inference_args.ts`'s; the rows and the table `inference_report.ts`'s.
 *
 * @example
 * ```sh
 * deno task bench:inference                         # batches 1/8/32/128, threads 1 and 2, both ways
 * deno task bench:inference --runs 200 --via engine --threads 1 --json /tmp/inference.json
 * deno task bench:inference --via engine --threads 1 --instances 1,2   # two engines side by side
 * ```
 *
 * ```ts
 * import { measureInference } from "./inference.ts";
 * import { bestRate } from "./inference_report.ts";
 *
 * const report = await measureInference({ via: ["engine"], threads: [1], batches: [1, 32], runs: 50 });
 * console.log(bestRate(report)?.samplesPerSec);
 * ```
 * @module
 */
import { InferenceEngine } from "../server/engine/engine.ts";
import { DEFAULT_MODEL, loadModelFile, ModelError } from "../server/models/model.ts";
import { exitWithUsage } from "../cli/args.ts";
import { parseOrExit, Progress } from "./_cli.ts";
import { loadDigits } from "./digits.ts";
import { type InferenceBenchOptions, parseInferenceArgs, USAGE } from "./inference_args.ts";
import {
  type CellResult,
  formatInferenceTable,
  type InferenceReport,
  summarizeCell,
  VIAS,
} from "./inference_report.ts";

/** The message a direct-timing Worker gets. */
export interface DirectJob {
  model: Uint8Array;
  threads: number;
  batches: number[];
  runs: number;
  durationSeconds: number;
  warmup: number;
  input: Float32Array;
}

/** What a direct-timing Worker posts back. */
export type DirectMessage =
  | { type: "loaded"; loadMs: number; runtime: string }
  | { type: "cell"; cell: CellResult }
  | { type: "done" }
  | { type: "error"; message: string };

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
  options: Required<Omit<InferenceBenchOptions, "model" | "via" | "threads" | "instances">>,
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
      const deadline = performance.now() + options.durationSeconds * 1000;
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
  options: Required<Omit<InferenceBenchOptions, "model" | "via" | "threads" | "instances">>,
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
      durationSeconds: options.durationSeconds,
      warmup: options.warmup,
      input,
    };
    worker.postMessage(job);
  }).finally(() => worker.terminate());
}

/** Times every cell (way × threads × batch) and the loads. */
export async function measureInference(
  options: InferenceBenchOptions = {},
): Promise<InferenceReport> {
  const settings = {
    batches: options.batches ?? [1, 8, 32, 128],
    runs: options.runs ?? 1000,
    durationSeconds: options.durationSeconds ?? 3,
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

async function main(): Promise<void> {
  const options = parseOrExit("bench:inference", parseInferenceArgs, Deno.args, USAGE);
  const progress = new Progress(!options.quiet);
  let report;
  try {
    report = await measureInference({ ...options, onProgress: (t) => progress.update(t) });
  } catch (e) {
    // A model file that is there but is not a model: the --model flag's mistake.
    if (!(e instanceof ModelError)) throw e;
    progress.done();
    exitWithUsage("bench:inference", `--model: ${e.message}`);
  }
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
