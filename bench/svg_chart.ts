/**
 * Charts as inline SVG, with no script and no URL, for the `bench:stress`
 * report (`report.ts`): a line chart with a legend (a log x axis for sweeps
 * that span decades) and a bar chart, on round ticks.
 *
 * @example
 * ```ts
 * import { lineChart, niceTicks } from "./svg_chart.ts";
 *
 * console.log(niceTicks(0, 87)); // [ 0, 20, 40, 60, 80 ]
 * const svg = lineChart({ title: "Throughput", xLabel: "clients", yLabel: "req/s", logX: true }, [
 *   { name: "framed", points: [[1, 900], [10, 7000], [100, 21000]] },
 * ]);
 * console.log(svg.startsWith("<svg")); // true
 * ```
 * @module
 */
import { thousands } from "./_cli.ts";

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

/** A tick's text: thousands separated, else three significant digits. */
function label(n: number): string {
  if (Math.abs(n) >= 1000) return thousands(n);
  return String(Number(n.toPrecision(3)));
}

/** One line of a line chart: its legend name and its points. */
export interface Series {
  name: string;
  points: [number, number][];
  dashed?: boolean;
}

/** A chart's title, axis labels and size. */
export interface ChartOptions {
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
  // Each marker's label on its own row, inside the plot, where no other marker's line crosses
  // it (beside its own line when there is room), over a white box so bars do not cut it.
  const shown = markers.filter((m) => isFinite(m.at)).map((m, i) => ({
    ...m,
    x: f.x(Math.min(xMax, Math.max(xMin, m.at))),
    color: COLORS[1 + (i % (COLORS.length - 1))],
  }));
  const left = MARGIN.left, right = f.width - MARGIN.right;
  shown.forEach((m, i) => {
    const width = 6.6 * m.name.length + 4;
    const fits = (from: number) =>
      from >= left && from + width <= right &&
      shown.every((o) => o === m || o.x < from - 2 || o.x > from + width + 2);
    // Beside its own line if it can be, else beside the nearest other line that leaves room.
    const places = [m.x + 4, m.x - 4 - width, ...shown.flatMap((o) => [o.x + 4, o.x - 4 - width])];
    const fitting = places.filter(fits).sort((a, b) => Math.abs(a - m.x) - Math.abs(b - m.x));
    const from = fitting[0] ?? Math.max(left, Math.min(m.x + 4, right - width));
    const y = MARGIN.top + 14 + i * 18;
    f.parts.push(
      `<line x1="${m.x.toFixed(1)}" x2="${m.x.toFixed(1)}" y1="${MARGIN.top}" ` +
        `y2="${MARGIN.top + f.plotH}" stroke="${m.color}" stroke-width="1.5" ` +
        `stroke-dasharray="4 3" data-marker="${escapeHtml(m.name)}"/>`,
      `<rect x="${from.toFixed(1)}" y="${y - 12}" width="${width.toFixed(1)}" height="16" ` +
        `fill="#fff" fill-opacity="0.9"/>`,
      `<text x="${(from + 2).toFixed(1)}" y="${y}" class="legend" fill="${m.color}" ` +
        `data-marker-label="${escapeHtml(m.name)}">${escapeHtml(m.name)}</text>`,
    );
  });
  f.parts.push("</svg>");
  return f.parts.join("\n");
}
