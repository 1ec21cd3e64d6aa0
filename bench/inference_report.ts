/**
 * What `deno task bench:inference` found (`InferenceReport`): a row per cell
 * (way × threads × instances × batch) averaged from its raw times
 * (`summarizeCell`), the load times, the fastest row (`bestRate`) and the
 * table the command prints (`formatInferenceTable`).
 *
 * @example
 * ```ts
 * import { bestRate, formatInferenceTable, summarizeCell } from "./inference_report.ts";
 *
 * const cell = summarizeCell({
 *   via: "engine", threads: 1, instances: 1, batch: 8, runs: 2, runMs: [1, 1], wallMs: [2, 2],
 * });
 * const report = { model: "model.onnx", runtime: "onnxruntime-web", runs: 2, loads: [], cells: [cell] };
 * console.log(cell.msPerInference, bestRate(report)?.samplesPerSec); // 0.125 4000
 * console.log(formatInferenceTable(report).split("\n")[0].includes("samples/s")); // true
 * ```
 * @module
 */
import { fixed, formatTable, thousands } from "./_cli.ts";
import { summarize } from "./stats.ts";

/**
 * The ways of timing: the server's engine (WASM), onnxruntime-web directly,
 * and the server's engine with `--engine native` (onnxruntime-node; needs
 * `deno task install:native`).
 */
export const VIAS = ["engine", "direct", "native"] as const;
export type Via = typeof VIAS[number];

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
