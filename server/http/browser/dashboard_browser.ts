/**
 * Drives the dashboard in a real browser (Debian's chromium through npm
 * `playwright-core`), for `../dashboard_test.ts` and for the README's
 * screenshot. It has its own `deno.json` and lock so that serving never
 * downloads playwright; the test runs it as a subprocess with the
 * permissions playwright needs.
 *
 * It opens the dashboard, reads its figures, sends `--send` digits to the
 * board port over framed TCP, waits until the page shows them, and prints
 * one JSON object: the figures before and after, and the digits drawn.
 *
 * @example
 * ```sh
 * deno run -A --config server/http/browser/deno.json server/http/browser/dashboard_browser.ts \
 *   --url http://127.0.0.1:8000/ --tcp 32001 --send 5 --screenshot /tmp/dashboard.png
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { launchChromium } from "./launch.ts";
import { InferenceClient } from "../../../client/client.ts";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    tcp: { type: "string" },
    send: { type: "string", default: "5" },
    screenshot: { type: "string" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    /** Seconds to watch the page before the screenshot (the rate chart fills in). */
    linger: { type: "string", default: "0" },
  },
});
if (!values.url) {
  console.error("error: --url is required");
  Deno.exit(2);
}

/** A synthetic "1": a vertical bar, so the page has something to draw. */
function bar(offset: number): Uint8Array {
  const digit = new Uint8Array(784);
  for (let y = 4; y < 24; y++) {
    for (let x = 12 + offset; x < 16 + offset; x++) digit[y * 28 + x] = 255;
  }
  return digit;
}

const { page, close } = await launchChromium(values.chromium, { width: 1280, height: 690 });
try {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const external: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(new URL(values.url!).origin)) external.push(r.url());
  });
  await page.goto(values.url);
  await page.waitForFunction(() => document.getElementById("ready")?.textContent === "ready");
  const read = () =>
    page.evaluate(() => ({
      total: Number(document.getElementById("total")!.textContent),
      digits: document.querySelectorAll("#digits canvas").length,
      devices: document.querySelectorAll("#devices tr").length,
      ready: document.getElementById("ready")!.textContent,
    }));
  const before = await read();
  const send = Number(values.send);
  if (send > 0) {
    const client = await InferenceClient.connect({
      hostname: "127.0.0.1",
      port: Number(values.tcp),
    });
    for (let i = 0; i < send; i++) await client.infer({ digitU8: bar(i % 4) });
    client.close();
    await page.waitForFunction(
      (expected) => Number(document.getElementById("total")!.textContent) >= expected,
      before.total + send,
      { timeout: 10_000 },
    );
    // The traffic figures cover whole seconds: wait for the second of the requests to end.
    await page.waitForFunction(
      () => Number(document.getElementById("rps")!.textContent) > 0,
      null,
      {
        timeout: 10_000,
      },
    );
  }
  const after = await read();
  const drawn = await page.evaluate(() =>
    [...document.querySelectorAll("#digits .digit")].map((box) => {
      const canvas = box.querySelector("canvas")!;
      const pixels = canvas.getContext("2d")!.getImageData(0, 0, 28, 28).data;
      let ink = 0;
      for (let i = 0; i < pixels.length; i += 4) if (pixels[i] > 128) ink++;
      return { label: box.textContent, ink };
    })
  );
  await page.waitForTimeout(Number(values.linger) * 1000);
  if (values.screenshot) await page.screenshot({ path: values.screenshot, fullPage: true });
  console.log(JSON.stringify({ before, after, drawn, errors, external }));
} finally {
  await close();
}
