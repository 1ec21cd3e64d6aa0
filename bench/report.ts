/**
 * The HTML report of a `bench:stress` run: throughput and latency against
 * concurrency, a latency histogram and a timeline of replies per step, and
 * the tables behind them. One self-contained page: inline SVG drawn here,
 * inline CSS, no script and no URL, so it opens offline and can be attached
 * to an issue as it is. The charts are drawn by `svg_chart.ts`.
 *
 * @example
 * ```ts
 * import { renderReport, type StressReport } from "./report.ts";
 *
 * // The page beside the record that `bench:stress --json` wrote: stress.json gives stress.html.
 * export async function writePage(jsonPath: string): Promise<string> {
 *   const report: StressReport = JSON.parse(await Deno.readTextFile(jsonPath));
 *   const htmlPath = jsonPath.replace(/\.json$/, "") + ".html";
 *   await Deno.writeTextFile(htmlPath, renderReport(report));
 *   return htmlPath;
 * }
 * ```
 * @module
 */
import { count, fixed, thousands } from "./_cli.ts";
import type { InferenceReport } from "./inference_report.ts";
import type { StepSummary } from "./results.ts";
import { barChart, escapeHtml, lineChart, type Series } from "./svg_chart.ts";

/** Everything one `bench:stress` run found; also what `--json` writes. */
export interface StressReport {
  /** ISO date and time of the run. */
  date: string;
  /** The command line. */
  command: string;
  environment: {
    deno: string;
    v8: string;
    typescript: string;
    os: string;
    cpus: number;
    cpuModel: string;
  };
  server: {
    /** The server's start line (address, model, engine), when the bench started it. */
    describe: string;
    spawned: boolean;
    threads: number | null;
    maxBatch: number | null;
    /** The entry point started, when not the repository's server/main.ts (`--server-main`). */
    main?: string | null;
  };
  /** The inference figures measured in the same run (`--compare-inference`). */
  inference: InferenceReport | null;
  steps: StepSummary[];
}

function table(header: string[], rows: (string | number)[][]): string {
  const head = header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((row) =>
    `<tr>${row.map((c) => `<td>${escapeHtml(String(c))}</td>`).join("")}</tr>`
  ).join("\n");
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function describeLoad(step: StepSummary): string {
  const mode = step.protocol === "legacy"
    ? "legacy"
    : step.protocol === "http"
    ? "http OIP JSON keep-alive"
    : step.protocol === "http-binary"
    ? "http OIP binary tensors keep-alive"
    : step.protocol === "mqtt"
    ? "mqtt through the broker"
    : `framed ${step.keepAlive ? "keep-alive" : "connection per request"}`;
  return `${mode}, ${step.garbage ? "garbage floats" : `${step.digits} digits`}`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #111; max-width: 1180px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
code, .mono { font-family: ui-monospace, monospace; font-size: 12.5px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f4f6; } td:first-child, th:first-child { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { border: 1px solid #ddd; background: #fff; }
.chart .title { font-size: 14px; font-weight: 600; text-anchor: middle; }
.chart .tick { font-size: 11px; fill: #444; } .chart .label { font-size: 12px; fill: #222; }
.chart .legend { font-size: 12px; } .chart .grid { stroke: #eee; } .chart .axis { stroke: #333; }
.muted { color: #555; }
`;

/** The whole page. */
export function renderReport(report: StressReport): string {
  const steps = report.steps;
  const env = report.environment;
  const out: string[] = [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>bench:stress ${escapeHtml(report.date)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    "<h1>bench:stress — MNIST inference server under load</h1>",
    `<p class="muted">${escapeHtml(report.date)} · Deno ${escapeHtml(env.deno)} (V8 ` +
    `${escapeHtml(env.v8)}) · ${escapeHtml(env.os)} · ${env.cpus} CPUs ` +
    `${escapeHtml(env.cpuModel)}</p>`,
    `<p class="mono">${escapeHtml(report.command)}</p>`,
    `<p>Server: ${report.server.spawned ? "started by the bench as a subprocess" : "given"}` +
    ` — <span class="mono">${escapeHtml(report.server.describe)}</span>` +
    `${report.server.main ? ` (entry point ${escapeHtml(report.server.main)})` : ""}</p>`,
  ];
  if (steps.length === 0) {
    out.push("<p>No steps were run.</p></body></html>");
    return out.join("\n");
  }
  out.push(`<p>Load: ${escapeHtml(describeLoad(steps[0]))}.</p>`);

  if (steps.length > 1) out.push(...concurrencyCharts(report));
  else {
    out.push(
      '<p class="muted">One step: run with <code>--sweep</code> for throughput and latency ' +
        "against concurrency.</p>",
    );
  }
  out.push(...stepTables(steps));
  out.push(...inferenceTable(report.inference));
  out.push("</body></html>");
  return out.join("\n") + "\n";
}

function concurrencyCharts(report: StressReport): string[] {
  const steps = report.steps;
  const out: string[] = [];
  out.push("<h2>Throughput and latency against concurrency</h2>", '<div class="charts">');
  const logX = steps.length > 1 && Math.max(...steps.map((s) => s.clients)) /
          Math.max(1, Math.min(...steps.map((s) => s.clients))) >= 20;
  const xs = steps.map((s) => s.clients);
  const throughput: Series[] = [{
    name: "served req/s",
    points: steps.map((s) => [s.clients, s.reqPerSec]),
  }];
  if (report.inference) {
    const byThreads = new Map<number, number>();
    for (const cell of report.inference.cells) {
      if (cell.via !== "engine") continue;
      byThreads.set(cell.threads, Math.max(byThreads.get(cell.threads) ?? 0, cell.samplesPerSec));
    }
    const span: [number, number] = [Math.min(...xs), Math.max(...xs)];
    for (const [threads, rate] of byThreads) {
      throughput.push({
        name: `engine best, ${threads} thread(s): ${thousands(rate)}/s`,
        points: [[span[0], rate], [span[1], rate]],
        dashed: true,
      });
    }
  }
  out.push(
    lineChart({ title: "Throughput", xLabel: "concurrent clients", yLabel: "req/s", logX }, [
      ...throughput,
    ]),
    lineChart(
      { title: "Latency percentiles", xLabel: "concurrent clients", yLabel: "ms", logX },
      [
        { name: "p50", points: steps.map((s) => [s.clients, s.latency.p50]) },
        { name: "p90", points: steps.map((s) => [s.clients, s.latency.p90]) },
        { name: "p99", points: steps.map((s) => [s.clients, s.latency.p99]) },
      ],
    ),
    "</div>",
  );
  return out;
}

function stepTables(steps: StepSummary[]): string[] {
  const out: string[] = [];
  out.push(
    "<h2>Steps</h2>",
    table(
      [
        "clients",
        "requests",
        "ok",
        "failed",
        "elapsed ms",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "p99/p50",
        "max/p50",
        "batch",
        "queue p50 ms",
        "rt − inference p50 ms",
      ],
      steps.map((s) => [
        thousands(s.clients),
        thousands(s.attempted),
        thousands(s.ok),
        thousands(s.failed),
        thousands(s.elapsedMs),
        thousands(s.reqPerSec),
        fixed(s.latency.p50, 3),
        fixed(s.latency.p90, 3),
        fixed(s.latency.p99, 3),
        fixed(s.latency.max, 3),
        fixed(s.fairness.p99OverP50, 2),
        fixed(s.fairness.maxOverP50, 2),
        s.batchSize ? fixed(s.batchSize.mean, 1) : "-",
        s.queueMs ? fixed(s.queueMs.p50, 3) : "-",
        fixed(s.overhead.p50, 3),
      ]),
    ),
  );

  out.push(
    "<h2>CPU (% of one core over each step)</h2>",
    table(
      ["clients", "load workers", "bench process", "server loop", "server workers", "V8 helpers"],
      steps.map((s) => [
        thousands(s.clients),
        s.cpu.loadWorkers.map((c) => fixed(c.percent, 0)).join(" / ") || "main thread",
        fixed(s.cpu.benchProcess.percent, 0),
        s.cpu.server ? fixed(s.cpu.server.main.percent, 0) : "-",
        s.cpu.server ? fixed(s.cpu.server.workers.percent, 0) : "-",
        s.cpu.server ? fixed(s.cpu.server.v8.percent, 0) : "-",
      ]),
    ),
  );

  const errorKinds = [...new Set(steps.flatMap((s) => Object.keys(s.errors)))].sort();
  out.push("<h2>Errors</h2>");
  if (errorKinds.length === 0) out.push("<p>None: every request got an OK reply.</p>");
  else {
    out.push(table(
      ["clients", ...errorKinds],
      steps.map((
        s,
      ) => [thousands(s.clients), ...errorKinds.map((k) => thousands(s.errors[k] ?? 0))]),
    ));
  }

  out.push("<h2>Latency distribution and replies over time, per step</h2>");
  for (const s of steps) {
    out.push(
      `<h3>${count(s.clients, "client")} — ${thousands(s.ok)} replies in ` +
        `${thousands(s.elapsedMs)} ms</h3>`,
      '<div class="charts">',
      barChart(
        { title: `Latency, ${count(s.clients, "client")}`, xLabel: "ms", yLabel: "requests" },
        s.histogram.edges,
        s.histogram.counts,
        [
          { at: s.latency.p50, name: `p50 ${fixed(s.latency.p50, 2)}` },
          { at: s.latency.p99, name: `p99 ${fixed(s.latency.p99, 2)}` },
        ],
      ),
      barChart(
        {
          title: `Replies over time, ${count(s.clients, "client")}`,
          xLabel: "ms since start",
          yLabel: `replies per ${fixed(s.timeline.binMs, s.timeline.binMs < 10 ? 2 : 0)} ms`,
        },
        s.timeline.counts.map((_, i) => i * s.timeline.binMs).concat(
          s.timeline.counts.length * s.timeline.binMs,
        ),
        s.timeline.counts,
      ),
      "</div>",
    );
  }
  return out;
}

function inferenceTable(inference: InferenceReport | null): string[] {
  const out: string[] = [];
  if (inference) {
    out.push(
      "<h2>Inference alone, same run (engine path)</h2>",
      table(
        ["way", "threads", "batch", "runs", "ms/inference", "ms/run", "samples/s"],
        inference.cells.map((c) => [
          c.via,
          c.threads,
          c.batch,
          thousands(c.runs),
          fixed(c.msPerInference, 4),
          fixed(c.msPerRun, 3),
          thousands(c.samplesPerSec),
        ]),
      ),
    );
  }
  return out;
}
