// The stress report in a real browser (Debian's chromium through the
// playwright-core driver in server/http/browser/, its own deno.json and
// lock): no two texts of a chart overlap, the p50 and p99 labels of each
// latency histogram included, even when p50 and p99 are close or both at
// the right edge; and one client is "1 client".
import assert from "node:assert/strict";
import { fakeReport } from "./_fixtures.ts";
import { renderReport } from "./report.ts";
import { runBrowserDriver } from "../server/testing/browser.ts";
import { requireTool } from "../server/testing/tools.ts";

const NO_CHROMIUM = requireTool("chromium", "chromium");

Deno.test({
  name: "the stress report in chromium: no chart's labels overlap; '1 client'",
  ignore: NO_CHROMIUM,
  async fn() {
    const report = fakeReport();
    // p50 and p99 almost at one place, and both past the right edge of the histogram.
    const close = report.steps[1];
    close.latency = { ...close.latency, p50: close.latency.p50, p99: close.latency.p50 * 1.01 };
    const edge = report.steps[2];
    const right = edge.histogram.edges.at(-1)!;
    edge.latency = { ...edge.latency, p50: right * 0.99, p99: right * 2 };
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/stress.html`;
      const html = renderReport(report);
      await Deno.writeTextFile(file, html);
      assert.match(html, /<h3>1 client — /);
      assert.doesNotMatch(html, /\b1 clients\b/);
      const result = await runBrowserDriver("report_browser.ts", ["--file", file]);
      assert.equal(result.charts, 2 + 2 * report.steps.length);
      assert.deepEqual(result.overlaps, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
