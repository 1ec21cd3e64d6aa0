/**
 * Starts Debian's chromium for the browser tests' drivers: headless, in a
 * fresh profile, with the switches that keep it off the network (this
 * machine reaches none), and hands back its first page. `close()` ends the
 * browser and removes the profile.
 *
 * @example
 * ```ts
 * import { launchChromium } from "./launch.ts";
 *
 * async function title(url: string): Promise<string> {
 *   const { page, close } = await launchChromium("/usr/bin/chromium", { width: 800, height: 600 });
 *   try {
 *     await page.goto(url);
 *     return await page.title();
 *   } finally {
 *     await close();
 *   }
 * }
 * ```
 * @module
 */
import { chromium, type Page } from "playwright-core";

/** Switches for a headless run that asks nothing of the network. */
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A running browser's first page, and how to end it. */
export interface Launched {
  page: Page;
  close(): Promise<void>;
}

/** Starts chromium at `executablePath` with a fresh profile and a window of `viewport`. */
export async function launchChromium(
  executablePath: string,
  viewport: { width: number; height: number },
): Promise<Launched> {
  const profile = await Deno.makeTempDir({ prefix: "mnist-chromium-" });
  // A fresh profile each run; playwright takes it as the persistent context's folder.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    viewport,
    args: ARGS,
  });
  const page = browser.pages()[0] ?? await browser.newPage();
  return {
    page,
    close: async () => {
      await browser.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
