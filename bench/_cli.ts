/**
 * Helpers the bench commands share: flag values checked into numbers and
 * lists, the project's one way of answering a mistake (`cli/args.ts`),
 * plain-text tables and a progress line on stderr. Private to `bench/`.
 *
 * @example
 * ```ts
 * import { formatTable, intFlag, listFlag } from "./_cli.ts";
 *
 * const runs = intFlag("runs", "1000", 1, { min: 1 });
 * const batches = listFlag("batches", "1,8,32,128", [1], { min: 1 });
 * console.log(formatTable(["runs", "batches"], [[runs, batches.join("/")]]));
 * ```
 * @module
 */

import { exitOnUsageError, UsageError } from "../cli/args.ts";

/** Limits of a numeric flag. */
export interface Bounds {
  min?: number;
  max?: number;
}

function checkBounds(name: string, n: number, text: string, bounds: Bounds): number {
  if (bounds.min !== undefined && n < bounds.min) {
    throw new UsageError(`--${name} must be ≥ ${bounds.min}, got "${text}"`);
  }
  if (bounds.max !== undefined && n > bounds.max) {
    throw new UsageError(`--${name} must be ≤ ${bounds.max}, got "${text}"`);
  }
  return n;
}

/** An integer flag: `fallback` when absent, a `UsageError` when not an integer within bounds. */
export function intFlag(
  name: string,
  text: string | undefined,
  fallback: number,
  bounds: Bounds = {},
): number {
  return numericFlag(name, text, fallback, bounds, true);
}

/** A number flag (e.g. seconds): `fallback` when absent. */
export function numberFlag(
  name: string,
  text: string | undefined,
  fallback: number,
  bounds: Bounds = {},
): number {
  return numericFlag(name, text, fallback, bounds, false);
}

function numericFlag(
  name: string,
  text: string | undefined,
  fallback: number,
  bounds: Bounds,
  integer: boolean,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === "" || !(integer ? Number.isInteger(n) : Number.isFinite(n))) {
    throw new UsageError(`--${name} must be ${integer ? "an integer" : "a number"}, got "${text}"`);
  }
  return checkBounds(name, n, text, bounds);
}

/** A comma-separated list of integers, e.g. `1,10,100`. */
export function listFlag(
  name: string,
  text: string | undefined,
  fallback: number[],
  bounds: Bounds = {},
): number[] {
  if (text === undefined) return fallback;
  const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length === 0) throw new UsageError(`--${name} needs at least one value`);
  return items.map((item) => intFlag(name, item, 0, bounds));
}

/** One of a fixed set of words. */
export function choiceFlag<T extends string>(
  name: string,
  text: string | undefined,
  choices: readonly T[],
  fallback: T,
): T {
  if (text === undefined) return fallback;
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${text}"`);
  }
  return text as T;
}

/** V8 flags for a started server: a comma-separated list, "none" for none; undefined when absent. */
export function v8FlagsFlag(name: string, text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  if (text === "none") return [];
  const flags = text.split(",").map((f) => f.trim());
  const bad = flags.find((f) => !f.startsWith("--"));
  if (bad !== undefined) throw new UsageError(`--${name}: a V8 flag starts with --, got "${bad}"`);
  return flags;
}

/** Whether `host` is a loopback address: the benches and the fuzzer send nowhere else. */
export function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::1" || host === "localhost";
}

/** A number with a fixed count of decimals, or "-" when it is not finite. */
export function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "-";
}

/** An integer with thousands separators, as the old post printed them: 31,228. */
export function thousands(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-";
}

/**
 * A flag naming a file (or with `folder`, a folder) that must be there:
 * `undefined` when absent, a `UsageError` naming the flag when it is not.
 */
export function pathFlag(
  name: string,
  text: string | undefined,
  kind: "file" | "folder" = "file",
): string | undefined {
  if (text === undefined) return undefined;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(text);
  } catch {
    throw new UsageError(`--${name} ${text}: no such ${kind}`);
  }
  if (kind === "file" ? !info.isFile : !info.isDirectory) {
    throw new UsageError(`--${name} ${text}: not a ${kind}`);
  }
  return text;
}

/** A count and its noun, singular for one: "1 client", "1,000 clients". */
export function count(n: number, noun: string): string {
  return `${thousands(n)} ${noun}${Math.round(n) === 1 ? "" : "s"}`;
}

/**
 * What a long run has done and what is left: "1,234/10,000 requests (12%),
 * 2,468 req/s, about 4 s left". The estimate is the work left at the rate so
 * far, and never past `limitSeconds` (a --duration cap) when one is given;
 * before the first reply there is no rate, and no estimate.
 */
export function progressText(
  done: number,
  total: number,
  elapsedSeconds: number,
  limitSeconds = Infinity,
): string {
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const share = total > 0 ? Math.floor((done / total) * 100) : 0;
  let text = `${thousands(done)}/${thousands(total)} requests (${share}%)`;
  if (rate > 0) {
    const left = Math.min((total - done) / rate, Math.max(0, limitSeconds - elapsedSeconds));
    text += `, ${thousands(rate)} req/s, about ${duration(left)} left`;
  }
  return text;
}

/** Seconds as "45 s", "3 min 20 s" or "1 h 5 min". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ""}`;
}

/**
 * A plain-text table: a header, a rule and the rows, columns padded to the
 * widest cell; numbers (and cells that look like numbers) align right.
 */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map((c) => String(c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  const numeric = header.map((_, i) =>
    rows.length > 0 && rows.every((row) => /^[-+]?[\d,.]+[%×]?$|^[-—]$/.test(String(row[i] ?? "")))
  );
  const line = (row: string[]) =>
    row.map((c, i) => numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])).join("  ")
      .trimEnd();
  return [line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)]
    .join("\n");
}

/**
 * A progress line on stderr, redrawn in place on a terminal and printed at
 * most once a second otherwise, so logs of long runs stay short.
 */
export class Progress {
  #tty = Deno.stderr.isTerminal();
  #last = 0;
  #shown = false;
  #enabled: boolean;
  #encoder = new TextEncoder();

  constructor(enabled = true) {
    this.#enabled = enabled;
  }

  /** Shows `text` unless a line was shown less than `everyMs` ago (`force` shows it anyway). */
  update(text: string, force = false, everyMs = 1000): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (!force && now - this.#last < (this.#tty ? 100 : everyMs)) return;
    this.#last = now;
    this.#shown = this.#tty;
    Deno.stderr.writeSync(this.#encoder.encode(this.#tty ? `\r\x1b[K${text}` : `${text}\n`));
  }

  /** Clears a redrawn line before ordinary output. */
  done(): void {
    if (this.#shown) Deno.stderr.writeSync(this.#encoder.encode("\r\x1b[K"));
    this.#shown = false;
  }
}

/**
 * Parses a command's flags with `parse`: on a `UsageError` prints one line
 * and exits 2 (`cli/args.ts`), and exits 0 after printing the usage for
 * `--help`.
 */
export function parseOrExit<T extends { help?: boolean }>(
  task: string,
  parse: (args: string[]) => T,
  args: string[],
  usage: string,
): T {
  let options: T;
  try {
    options = parse(args);
  } catch (e) {
    exitOnUsageError(task, e);
  }
  if (options.help) {
    console.log(usage);
    Deno.exit(0);
  }
  return options;
}
