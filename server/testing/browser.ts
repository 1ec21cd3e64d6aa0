/**
 * Runs one of the browser drivers in `server/http/browser/` (its own
 * `deno.json`, so serving never downloads playwright) against Debian's
 * chromium, and returns the JSON object it prints last. A driver that fails
 * throws with its error output.
 *
 * @example
 * ```ts
 * import { runBrowserDriver } from "./browser.ts";
 *
 * async function overlaps(file: string): Promise<unknown> {
 *   const result = await runBrowserDriver("report_browser.ts", ["--file", file]);
 *   return result.overlaps;
 * }
 * ```
 * @module
 */
import { findTool } from "./tools.ts";

const BROWSER_DIR = new URL("../http/browser/", import.meta.url).pathname;

/** Runs `script` with `args` and chromium's path; the driver's last stdout line, parsed. */
// deno-lint-ignore no-explicit-any -- the driver's JSON, read field by field by its test
export async function runBrowserDriver(script: string, args: string[]): Promise<any> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      `${BROWSER_DIR}deno.json`,
      `${BROWSER_DIR}${script}`,
      ...args,
      "--chromium",
      findTool("chromium") ?? "chromium",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`${script} exited ${code}: ${new TextDecoder().decode(stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
}
