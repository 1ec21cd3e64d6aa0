/**
 * The HTML report of a `bench:stress` run: throughput and latency against
 * concurrency, a latency histogram and a timeline of replies per step, and
 * the tables behind them. One self-contained page: inline SVG drawn here,
 * inline CSS, no script and no URL, so it opens offline and can be attached
 * to an issue as it is.
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
import { fixed, thousands } from "./_cli.ts";
import type { InferenceReport } from "./inference.ts";
import type { StepSummary } from "./results.ts";

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

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

/** Escapes text for HTML and SVG. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Round tick values covering `[min, max]`: steps of 1, 2 or 5 × 10^k. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

/** The smallest round tick at or above `max` (for the top of an axis). */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const ticks = niceTicks(0, max);
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : max;
  return Math.ceil(max / step - 1e-9) * step;
}

/** Ticks for a log axis: 1, 2 and 5 × powers of ten within `[min, max]`. */
export function logTicks(min: number, max: number): number[] {
  const ticks = [];
  for (let p = Math.floor(Math.log10(min)); p <= Math.ceil(Math.log10(max)); p++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** p;
      if (t >= min * 0.999 && t <= max * 1.001) ticks.push(t);
    }
  }
  return ticks;
}

function label(n: number): string {
  if (Math.abs(n) >= 1000) return thousands(n);
  return String(Number(n.toPrecision(3)));
}

interface Series {
  name: string;
  points: [number, number][];
  dashed?: boolean;
}

interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  logX?: boolean;
}

const MARGIN = { left: 70, right: 20, top: 34, bottom: 46 };

/** The frame, axes and ticks of a chart; returns its scales and the SVG so far. */
function frame(
  options: ChartOptions,
  xRange: [number, number],
  yRange: [number, number],
  xTicks: number[],
) {
  const width = options.width ?? 560;
  const height = options.height ?? 300;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const [x0, x1] = options.logX ? xRange.map(Math.log10) : xRange;
  const x = (v: number) =>
    MARGIN.left + (((options.logX ? Math.log10(v) : v) - x0) / (x1 - x0 || 1)) * plotW;
  const y = (v: number) =>
    MARGIN.top + plotH - ((v - yRange[0]) / (yRange[1] - yRange[0] || 1)) * plotH;
  const parts: string[] = [
    `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `role="img" aria-label="${escapeHtml(options.title)}">`,
    `<text x="${width / 2}" y="18" class="title">${escapeHtml(options.title)}</text>`,
  ];
  for (const t of niceTicks(yRange[0], yRange[1])) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${y(t)}" y2="${y(t)}" ` +
        `class="grid"/>`,
      `<text x="${MARGIN.left - 6}" y="${y(t) + 4}" class="tick" text-anchor="end">` +
        `${label(t)}</text>`,
    );
  }
  for (const t of xTicks) {
    parts.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" ` +
        `class="axis"/>`,
      `<text x="${x(t)}" y="${MARGIN.top + plotH + 17}" class="tick" text-anchor="middle">` +
        `${label(t)}</text>`,
    );
  }
  parts.push(
    `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${MARGIN.top + plotH}" ` +
      `y2="${MARGIN.top + plotH}" class="axis"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" ` +
      `class="axis"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${height - 8}" class="label" text-anchor="middle">` +
      `${escapeHtml(options.xLabel)}</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" class="label" ` +
      `text-anchor="middle">${escapeHtml(options.yLabel)}</text>`,
  );
  return { parts, x, y, width, height, plotW, plotH };
}

/** A line chart with a legend; `logX` for concurrency sweeps spanning decades. */
export function lineChart(options: ChartOptions, series: Series[]): string {
  const all = series.flatMap((s) => s.points).filter(([a, b]) => isFinite(a) && isFinite(b));
  if (all.length === 0) return "";
  let xMin = Math.min(...all.map((p) => p[0]));
  let xMax = Math.max(...all.map((p) => p[0]));
  if (xMax === xMin) {
    xMin = options.logX ? xMin / 2 : xMin - 1;
    xMax = options.logX ? xMax * 2 : xMax + 1;
  }
  const yTop = Math.max(...all.map((p) => p[1])) * 1.1 || 1;
  const logX = options.logX && xMin > 0;
  const xTicks = logX ? logTicks(xMin, xMax) : niceTicks(xMin, xMax);
  const f = frame({ ...options, logX }, [xMin, xMax], [0, niceMax(yTop)], xTicks);
  // A white box under the legend keeps it readable over the lines.
  const legendW = 44 + 6.6 * Math.max(...series.map((s) => s.name.length));
  const legend: string[] = [
    `<rect x="${MARGIN.left + 4}" y="${MARGIN.top - 4}" width="${legendW.toFixed(0)}" ` +
    `height="${series.length * 16 + 4}" fill="#fff" fill-opacity="0.85"/>`,
  ];
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter(([a, b]) => isFinite(a) && isFinite(b));
    const d = pts.map(([a, b], j) => `${j ? "L" : "M"}${f.x(a).toFixed(1)},${f.y(b).toFixed(1)}`)
      .join("");
    f.parts.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"` +
        `${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`,
    );
    if (!s.dashed) {
      for (const [a, b] of pts) {
        f.parts.push(
          `<circle cx="${f.x(a).toFixed(1)}" cy="${f.y(b).toFixed(1)}" r="3.5" fill="${color}"/>`,
        );
      }
    }
    const ly = MARGIN.top + 6 + i * 16;
    legend.push(
      `<line x1="${MARGIN.left + 10}" x2="${MARGIN.left + 30}" y1="${ly}" y2="${ly}" ` +
        `stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`,
      `<text x="${MARGIN.left + 36}" y="${ly + 4}" class="legend">${escapeHtml(s.name)}</text>`,
    );
  });
  f.parts.push(...legend, "</svg>");
  return f.parts.join("\n");
}

/** A histogram: bars over bin edges, with labelled vertical markers (e.g. p50, p99). */
export function barChart(
  options: ChartOptions,
  edges: number[],
  counts: number[],
  markers: { at: number; name: string }[] = [],
): string {
  if (counts.length === 0) return "";
  const top = niceMax(Math.max(...counts, 1) * 1.05);
  const xMin = edges[0];
  const xMax = edges[edges.length - 1];
  const f = frame(options, [xMin, xMax], [0, top], niceTicks(xMin, xMax, 6));
  counts.forEach((n, i) => {
    if (n === 0) return;
    const x0 = f.x(edges[i]);
    const x1 = f.x(edges[i + 1]);
    f.parts.push(
      `<rect x="${x0.toFixed(1)}" y="${f.y(n).toFixed(1)}" width="${
        Math.max(0.5, x1 - x0 - 1).toFixed(1)
      }" height="${(f.y(0) - f.y(n)).toFixed(1)}" fill="${COLORS[0]}"/>`,
    );
  });
  markers.forEach((m, i) => {
    if (!isFinite(m.at)) return;
    const x = f.x(Math.min(xMax, Math.max(xMin, m.at)));
    const color = COLORS[1 + (i % (COLORS.length - 1))];
    // Labels near the right edge go to the left of their line.
    const right = x > f.width - MARGIN.right - 90;
    f.parts.push(
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${MARGIN.top}" ` +
        `y2="${MARGIN.top + f.plotH}" stroke="${color}" stroke-width="1.5" ` +
        `stroke-dasharray="4 3"/>`,
      `<text x="${(right ? x - 4 : x + 4).toFixed(1)}" y="${MARGIN.top + 12 + i * 14}" ` +
        `class="legend" fill="${color}"${right ? ' text-anchor="end"' : ""}>` +
        `${escapeHtml(m.name)}</text>`,
    );
  });
  f.parts.push("</svg>");
  return f.parts.join("\n");
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
      `<h3>${thousands(s.clients)} clients — ${thousands(s.ok)} replies in ` +
        `${thousands(s.elapsedMs)} ms</h3>`,
      '<div class="charts">',
      barChart(
        { title: `Latency, ${thousands(s.clients)} clients`, xLabel: "ms", yLabel: "requests" },
        s.histogram.edges,
        s.histogram.counts,
        [
          { at: s.latency.p50, name: `p50 ${fixed(s.latency.p50, 2)}` },
          { at: s.latency.p99, name: `p99 ${fixed(s.latency.p99, 2)}` },
        ],
      ),
      barChart(
        {
          title: `Replies over time, ${thousands(s.clients)} clients`,
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
