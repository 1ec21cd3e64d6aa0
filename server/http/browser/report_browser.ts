/**
 * Opens a `bench:stress` HTML report in a real browser (Debian's chromium
 * through npm `playwright-core`; this folder's own `deno.json` and lock)
 * and measures where every chart's text was drawn: prints one JSON object
 * with the number of charts and each pair of texts in one chart whose boxes
 * overlap (labels of the histogram's p50 and p99 markers, legends, ticks),
 * and each marker label that another marker's line crosses,
 * so `bench/report_browser_test.ts` can hold the report to none.
 *
 * @example
 * ```sh
 * deno run -A --config server/http/browser/deno.json server/http/browser/report_browser.ts \
 *   --file /tmp/stress.html --screenshot /tmp/stress.png
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { launchChromium } from "./launch.ts";

const { values } = parseArgs({
  options: {
    file: { type: "string" },
    screenshot: { type: "string" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
  },
});
if (!values.file) {
  console.error("report_browser: --file is required");
  Deno.exit(2);
}

const { page, close } = await launchChromium(values.chromium, { width: 1280, height: 900 });
try {
  await page.goto(new URL(`file://${values.file}`).href);
  const result = await page.evaluate(() => {
    const overlaps: { chart: string; a: string; b: string }[] = [];
    const charts = [...document.querySelectorAll("svg")];
    for (const svg of charts) {
      const title = svg.getAttribute("aria-label") ?? "";
      const texts = [...svg.querySelectorAll("text")]
        .filter((t) => (t.textContent ?? "").trim() !== "")
        .map((t) => ({ text: t.textContent ?? "", box: t.getBoundingClientRect() }));
      for (let i = 0; i < texts.length; i++) {
        for (let j = i + 1; j < texts.length; j++) {
          const a = texts[i].box, b = texts[j].box;
          const apart = a.right <= b.left || b.right <= a.left || a.bottom <= b.top ||
            b.bottom <= a.top;
          if (!apart) overlaps.push({ chart: title, a: texts[i].text, b: texts[j].text });
        }
      }
      // No label is crossed by a vertical dashed line (a marker such as p50) other than its own.
      for (const label of svg.querySelectorAll("text.legend")) {
        const box = label.getBoundingClientRect();
        for (const line of svg.querySelectorAll("line[stroke-dasharray]")) {
          if (line.getAttribute("x1") !== line.getAttribute("x2")) continue;
          const name = line.getAttribute("data-marker");
          if (name !== null && name === label.getAttribute("data-marker-label")) continue;
          const x = line.getBoundingClientRect().left + line.getBoundingClientRect().width / 2;
          if (x > box.left && x < box.right) {
            overlaps.push({ chart: title, a: label.textContent ?? "", b: "a marker's line" });
          }
        }
      }
    }
    return { charts: charts.length, overlaps };
  });
  if (values.screenshot) await page.screenshot({ path: values.screenshot, fullPage: true });
  console.log(JSON.stringify(result));
} finally {
  await close();
}
