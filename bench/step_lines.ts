/**
 * The lines `bench:stress` prints for a step summarised by `results.ts`,
 * starting with the earlier C++ tool's two, and the table of a sweep's steps.
 *
 * @example
 * ```ts
 * import { summarizeStep } from "./results.ts";
 * import { formatStep } from "./step_lines.ts";
 * import type { PoolResult } from "./pool.ts";
 *
 * // `result` is what `LoadPool.run` recorded for 500 one-shot legacy clients.
 * export function printStep(result: PoolResult): void {
 *   const step = summarizeStep(result, { clients: 500, requests: 1, protocol: "legacy",
 *     digits: "float", keepAlive: false, garbage: false });
 *   console.log(formatStep(step).join("\n")); // Total elapsed time: ... ms
 * }
 * ```
 * @module
 */
import { count, fixed, thousands } from "./_cli.ts";
import { type CpuFigure, eventLoopUsPerRequest, type StepSummary } from "./results.ts";

function ms(n: number, digits = 3): string {
  return fixed(n, digits);
}

function pct(figure: CpuFigure): string {
  return `${fixed(figure.percent, 0)}%`;
}

/** The lines printed for one step: the old tool's two first, then the rest. */
export function formatStep(step: StepSummary): string[] {
  const lines = [
    `Total elapsed time: ${Math.round(step.elapsedMs)} ms`,
    `Average server inference time: ${ms(step.serverInferenceMs)} ms`,
  ];
  const mode = step.protocol === "legacy"
    ? "legacy (a connection per request)"
    : step.protocol === "http"
    ? "http (OIP JSON infer, keep-alive)"
    : step.protocol === "http-binary"
    ? "http-binary (OIP infer with binary tensors, keep-alive)"
    : step.protocol === "mqtt"
    ? "mqtt (through the broker, a connection per device)"
    : `framed, ${step.keepAlive ? "keep-alive" : "a connection per request"}`;
  lines.push(
    `${count(step.clients, "client")} × ${count(step.requests, "request")}, ${mode}, ` +
      `${step.garbage ? "garbage floats" : `${step.digits} digits`}: ${thousands(step.ok)} ok, ` +
      `${thousands(step.failed)} failed; ${thousands(step.reqPerSec)} req/s` +
      (Number.isFinite(step.steadyReqPerSec)
        ? ` (steady: ${thousands(step.steadyReqPerSec)} req/s over the middle 80% of replies)`
        : "") +
      (Number.isFinite(step.firstSecondReqPerSec)
        ? `; first second ${thousands(step.firstSecondReqPerSec)} req/s`
        : ""),
  );
  const l = step.latency;
  lines.push(
    `latency ms: p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  max ${ms(l.max)}  ` +
      `mean ${ms(l.mean)}   (p99/p50 ${fixed(step.fairness.p99OverP50, 2)}, ` +
      `max/p50 ${fixed(step.fairness.maxOverP50, 2)})`,
  );
  lines.push(
    `round trip − server inference ms: p50 ${ms(step.overhead.p50)}  p99 ${ms(step.overhead.p99)}`,
  );
  if (step.queueMs && step.batchSize) {
    lines.push(
      `server: queue ms p50 ${ms(step.queueMs.p50)}  p99 ${ms(step.queueMs.p99)}  max ` +
        `${ms(step.queueMs.max)}; batch size mean ${fixed(step.batchSize.mean, 1)}  max ` +
        `${step.batchSize.max}; inference ${ms(step.perSampleInferenceMs ?? NaN, 4)} ms/sample`,
    );
  }
  const errors = Object.entries(step.errors).sort((a, b) => b[1] - a[1]);
  lines.push(
    `errors: ${errors.length ? errors.map(([k, n]) => `${k} ${thousands(n)}`).join(", ") : "none"}`,
  );
  if (step.accuracy.known > 0) {
    lines.push(
      `accuracy: ${fixed((step.accuracy.correct / step.accuracy.known) * 100, 1)}% of ` +
        `${thousands(step.accuracy.known)} labelled digits`,
    );
  }
  const load = step.cpu.loadWorkers;
  const loadText = step.workers === 0
    ? "in the main thread"
    : `${step.workers} worker(s): ${load.map(pct).join(", ")} of a core each`;
  lines.push(`load generator CPU: ${loadText}; bench process ${pct(step.cpu.benchProcess)}`);
  const s = step.cpu.server;
  if (s) {
    lines.push(
      `server CPU: event loop ${pct(s.main)}, inference workers ${pct(s.workers)}, ` +
        (s.listeners?.percent ? `listener workers ${pct(s.listeners)}, ` : "") +
        `V8 helpers ${pct(s.v8)}, other ${pct(s.other)}; ` +
        `event loop ${fixed(eventLoopUsPerRequest(step), 1)} us per request`,
    );
  }
  return lines;
}

/** A table of steps, one row per concurrency, for sweeps. */
export function sweepRows(steps: StepSummary[]): (string | number)[][] {
  return steps.map((s) => [
    thousands(s.clients),
    thousands(s.ok),
    thousands(s.failed),
    thousands(s.elapsedMs),
    thousands(s.reqPerSec),
    ms(s.latency.p50),
    ms(s.latency.p90),
    ms(s.latency.p99),
    ms(s.latency.max),
    s.batchSize ? fixed(s.batchSize.mean, 1) : "-",
    fixed(s.cpu.benchProcess.percent, 0),
    s.cpu.server ? fixed(s.cpu.server.main.percent, 0) : "-",
    s.cpu.server ? fixed(s.cpu.server.workers.percent, 0) : "-",
  ]);
}

/** Headers of `sweepRows`. */
export const SWEEP_HEADER = [
  "clients",
  "ok",
  "failed",
  "ms",
  "req/s",
  "p50 ms",
  "p90 ms",
  "p99 ms",
  "max ms",
  "batch",
  "load %",
  "srv loop %",
  "srv infer %",
];
