/**
 * Drives the fleet page in a real browser (Debian's chromium through npm
 * `playwright-core`), for `../fleet_page_test.ts`: it opens `/fleet`, waits
 * for the first load, reads the table (rows, rows marked silent, sparklines,
 * the charts' lines) and the rollouts' rows, sorts by device id with a click on its header, and
 * prints one JSON object.
 *
 * @example
 * ```sh
 * deno run -A --config server/http/browser/deno.json server/http/browser/fleet_browser.ts \
 *   --url http://127.0.0.1:8000/fleet --screenshot /tmp/fleet.png
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { launchChromium } from "./launch.ts";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    screenshot: { type: "string" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
  },
});
if (!values.url) {
  console.error("error: --url is required");
  Deno.exit(2);
}

const { page, close } = await launchChromium(values.chromium, { width: 1400, height: 800 });
try {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const external: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(new URL(values.url!).origin)) external.push(r.url());
  });
  await page.goto(values.url);
  await page.waitForFunction(() => document.body.dataset.loaded === "1", null, { timeout: 15_000 });
  const table = await page.evaluate(() => ({
    rows: document.querySelectorAll("#devices tr").length,
    silentRows: document.querySelectorAll("#devices tr.silent").length,
    silentTags: document.querySelectorAll("#devices tr .tag").length,
    sparklines: document.querySelectorAll("#devices svg.spark").length,
    seen: document.getElementById("seen")!.textContent,
    silent: document.getElementById("silent")!.textContent,
    shown: document.getElementById("shown")!.textContent,
    requestLines: document.querySelectorAll("#requestsChart polyline").length,
    latencyLines: document.querySelectorAll("#latencyChart polyline").length,
  }));
  const rollouts = await page.evaluate(() =>
    [...document.querySelectorAll("#rollouts tr")].map((r) =>
      [...r.querySelectorAll("td")].map((td) => td.textContent)
    )
  );
  await page.click('th[data-key="id"]');
  const ascending = await page.evaluate(() =>
    [...document.querySelectorAll("#devices tr")].slice(0, 3).map((r) =>
      (r as HTMLElement).dataset.id
    )
  );
  await page.click('th[data-key="id"]');
  const descending = await page.evaluate(() =>
    [...document.querySelectorAll("#devices tr")].slice(0, 3).map((r) =>
      (r as HTMLElement).dataset.id
    )
  );
  if (values.screenshot) await page.screenshot({ path: values.screenshot });
  console.log(JSON.stringify({ table, rollouts, ascending, descending, errors, external }));
} finally {
  await close();
}
