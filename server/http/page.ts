/**
 * Reads one of the server's pages (an HTML file beside this module) with
 * `page.css` put in where the page links it, so that each page is one
 * self-contained response (no CDN, no second request) while the look they
 * share is written once.
 *
 * @example
 * ```ts
 * import { readPage } from "./page.ts";
 *
 * const html = readPage("fleet.html");
 * console.log(html.includes("--muted")); // true: page.css is inside
 * ```
 * @module
 */

const LINK = '<link rel="stylesheet" href="page.css">';
const CSS = Deno.readTextFileSync(new URL("./page.css", import.meta.url));

/** The page `file` (beside this module) with `page.css` inlined at its link. */
export function readPage(file: string): string {
  const html = Deno.readTextFileSync(new URL(`./${file}`, import.meta.url));
  if (!html.includes(LINK)) throw new Error(`${file} does not link page.css`);
  return html.replace(LINK, () => `<style>\n${CSS}</style>`);
}
