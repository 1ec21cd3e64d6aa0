/**
 * The dashboard page (`dashboard.html` beside this file): one self-contained
 * page, no CDN, that polls `dashboard.json` every second. Read once at start.
 *
 * @example
 * ```ts
 * import { DASHBOARD_HTML } from "./dashboard.ts";
 *
 * console.log(DASHBOARD_HTML.length);
 * ```
 * @module
 */
import { readPage } from "./page.ts";

/** The dashboard page, read once at start. */
export const DASHBOARD_HTML: string = readPage("dashboard.html");
