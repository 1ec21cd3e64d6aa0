/**
 * `deno task label --captured DIR`: shows each captured digit that has no
 * label yet (as text, 28 × 28) with what the model answered, the digits the
 * model was least sure of first, asks a person for the digit, and appends
 * `<id>,<label>` to `DIR/labels.csv` (format in `scripts/captured.ts`) at
 * once, so quitting loses nothing and the hardest cases are labelled first.
 *
 * Answers: a digit 0-9; Enter to accept the model's answer; `x` for "not a
 * digit / cannot tell"; `s` to skip for now; `q` to stop.
 *
 * @example
 * ```sh
 * deno task label --captured /var/lib/mnist/capture
 * deno task label --captured /var/lib/mnist/capture --below 0.6   # only the unsure ones
 * ```
 * @module
 */
import { argmax } from "../shared/codec.ts";
import {
  checkOutputPath,
  exitOnUsageError,
  exitWithError,
  parseFlags,
  UsageError,
} from "../cli/args.ts";
import { capturePixels, type CaptureRecord, readCaptures } from "../server/capture/capture_read.ts";
import { LabelError, LABELS_FILE, parseLabels } from "./captured.ts";

const USAGE = `Usage: deno task label --captured DIR [options]

Asks for the digit of each captured digit not labelled yet, the ones the model was least sure
of first; appends to DIR/${LABELS_FILE}.
Answers: 0-9, Enter = the model's answer, x = not a digit, s = skip for now, q = quit.

Options:
  --captured DIR        the server's capture folder (--capture)
  --labels FILE         label file (default DIR/${LABELS_FILE})
  --below CONFIDENCE    only digits the model was less sure of than this (0..1, default 1: all)
  -h, --help            show this help`;

const TASK = "label";

/** What the command line asks for. */
export interface LabelOptions {
  captured: string;
  labels: string;
  below: number;
  help: boolean;
}

/**
 * Reads and checks the command line: the capture folder is there, the label
 * file can be written, `--below` is a confidence. Throws a `UsageError` of
 * one sentence naming the flag; reads no capture and writes nothing.
 */
export function parseLabelArgs(args: string[]): LabelOptions {
  const { values } = parseFlags({
    args,
    options: {
      captured: { type: "string" },
      labels: { type: "string" },
      below: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return { captured: "", labels: "", below: 1, help: true };
  if (!values.captured) throw new UsageError("--captured DIR is required");
  const captured = values.captured;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(captured);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
    throw new UsageError(`--captured ${captured}: no such folder`);
  }
  if (!info.isDirectory) throw new UsageError(`--captured ${captured} is a file, not a folder`);
  const below = Number(values.below ?? "1");
  if (!(below > 0 && below <= 1)) {
    throw new UsageError(`--below must be in (0, 1], got "${values.below}"`);
  }
  const labels = values.labels ?? `${captured}/${LABELS_FILE}`;
  checkOutputPath(values.labels === undefined ? "--captured" : "--labels", labels);
  return { captured, labels, below, help: false };
}

/** The digit as 28 lines of text, two characters per pixel so it looks square. */
export function renderDigit(pixels: Float32Array): string {
  const shades = [" ", "░", "▒", "▓", "█"];
  const lines: string[] = [];
  for (let y = 0; y < 28; y++) {
    let line = "";
    for (let x = 0; x < 28; x++) {
      const shade = shades[Math.min(4, Math.floor(pixels[y * 28 + x] * 5))];
      line += shade + shade;
    }
    lines.push(line.trimEnd());
  }
  return lines.join("\n");
}

/**
 * The order a person labels in: the answers the model was least sure of
 * first (they teach the most), then the older first.
 */
export function labelOrder(records: CaptureRecord[]): CaptureRecord[] {
  return records.toSorted((a, b) => a.confidence - b.confidence || a.time.localeCompare(b.time));
}

/** What the versions that saw a digit said, in one line. */
export function describeCapture(record: CaptureRecord): string {
  const shadow = record.shadow !== undefined ? record.scores?.[record.shadow] : undefined;
  const other = shadow
    ? `; shadow v${record.shadow} said ${argmax(shadow)} (${percent(Math.max(...shadow))})`
    : "";
  return `${record.id}  model ${record.model} v${record.version} said ${record.prediction} ` +
    `(${percent(record.confidence)})${other}  from ${record.device} at ${record.time}`;
}

function percent(score: number): string {
  return `${(score * 100).toFixed(1)}%`;
}

/** Lines from stdin, one at a time (works with a terminal and with a pipe). */
async function* stdinLines(): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let end;
    while ((end = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, end).trim();
      buffered = buffered.slice(end + 1);
    }
  }
  if (buffered) yield buffered.trim();
}

async function ask(question: string, lines: AsyncGenerator<string>): Promise<string | null> {
  await Deno.stdout.write(new TextEncoder().encode(question));
  const next = await lines.next();
  return next.done ? null : next.value;
}

if (import.meta.main) {
  let values;
  try {
    values = parseLabelArgs(Deno.args);
  } catch (e) {
    exitOnUsageError(TASK, e);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const below = values.below;
  const labelsPath = values.labels;
  let labels;
  try {
    labels = parseLabels(
      await Deno.readTextFile(labelsPath).catch((e) => {
        if (e instanceof Deno.errors.NotFound) return "";
        throw e;
      }),
      labelsPath,
    );
  } catch (e) {
    exitWithError(TASK, (e as Error).message);
  }
  let todo: CaptureRecord[] = [];
  try {
    for await (const record of readCaptures(values.captured)) {
      if (!labels.has(record.id) && (below === 1 || record.confidence < below)) todo.push(record);
    }
  } catch (e) {
    if (e instanceof LabelError || e instanceof Deno.errors.NotFound) {
      exitWithError(TASK, (e as Error).message);
    }
    throw e;
  }
  todo = labelOrder(todo);
  console.log(
    `${todo.length} digit${todo.length === 1 ? "" : "s"} to label; answers go to ${labelsPath}`,
  );
  const file = await Deno.open(labelsPath, { create: true, append: true });
  const lines = stdinLines();
  let done = 0;
  try {
    next: for (const [i, record] of todo.entries()) {
      console.log(`\n${renderDigit(capturePixels(record))}`);
      console.log(`${i + 1}/${todo.length}  ${describeCapture(record)}`);
      for (;;) {
        const answer = await ask(`digit [${record.prediction}], x, s, q: `, lines);
        if (answer === null || answer === "q") break next;
        if (answer === "s") continue next;
        const label = answer === ""
          ? String(record.prediction)
          : /^[0-9xX]$/.test(answer)
          ? answer.toLowerCase()
          : null;
        if (label === null) {
          console.log("answer 0-9, Enter, x, s or q");
          continue;
        }
        await file.write(new TextEncoder().encode(`${record.id},${label}\n`));
        done++;
        break;
      }
    }
  } finally {
    file.close();
  }
  console.log(`\nlabelled ${done}`);
}
