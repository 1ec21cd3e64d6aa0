import assert from "node:assert/strict";
import { fakeReport } from "./_fixtures.ts";
import { renderReport } from "./report.ts";
import { escapeHtml, logTicks, niceTicks } from "./svg_chart.ts";

Deno.test("the report is one self-contained page: inline SVG, no URL, no script", () => {
  const html = renderReport(fakeReport());
  assert.ok(html.startsWith("<!doctype html>"));
  assert.doesNotMatch(html, /https?:/i);
  assert.doesNotMatch(html, /<script|<link|<img|src=|@import|url\(/i);
  // A throughput chart, a latency chart, and a histogram and a timeline per step.
  assert.equal(html.match(/<svg /g)?.length, 2 + 2 * 3);
  assert.match(html, /Throughput/);
  assert.match(html, /SERVER_BUSY/);
  assert.match(html, /engine best, 1 thread\(s\): 4,400\/s/);
  // The command line is escaped, not injected.
  assert.match(html, /&#60;&#38;&#62; &#34;quoted&#34;/);
});

Deno.test("a report with no steps still renders", () => {
  const html = renderReport({ ...fakeReport(), steps: [] });
  assert.match(html, /No steps were run/);
});

Deno.test("axis ticks are round numbers covering the range", () => {
  assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0, 4400, 5), [0, 1000, 2000, 3000, 4000]);
  assert.deepEqual(niceTicks(0.1, 0.35, 5), [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
  assert.deepEqual(niceTicks(3, 3), [3]);
  assert.deepEqual(logTicks(1, 2000), [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]);
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    "&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;",
  );
});
