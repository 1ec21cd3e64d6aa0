/**
 * Captured digits a person has labelled, as training data: reads the label
 * file and the capture folder (`--capture DIR` of the server) and returns the
 * labelled digits in the form `models/mnist_data.ts` gives MNIST's.
 *
 * The label file (`labels.csv`, by default in the capture folder) is plain
 * text, one digit per line, `<capture id>,<label>`:
 *
 * ```text
 * # id,label   (lines starting with # and blank lines are ignored)
 * 20261128T0830Z-1a2b3c4d-17,7
 * 20261128T0830Z-1a2b3c4d-18,x
 * ```
 *
 * `label` is the digit 0..9 a person sees, or `x` for "not a digit / cannot
 * tell" (kept out of training, and not asked again by `deno task label`). A
 * later line for the same id replaces an earlier one, so relabelling is
 * appending. `deno task label --captured DIR` writes this file.
 *
 * @example
 * ```ts
 * import { LABELS_FILE, loadLabelledCaptures } from "./captured.ts";
 * import { DigitCapture } from "../server/capture/capture.ts";
 * import { readCaptures } from "../server/capture/capture_read.ts";
 *
 * // A capture folder as `serve --capture DIR` fills it: one digit, labelled 7.
 * const dir = await Deno.makeTempDir({ prefix: "capture-" });
 * const capture = await DigitCapture.open({ dir, rule: "sample:1" });
 * capture.offer(new Float32Array(784), {
 *   model: "mnist", version: 1, device: "10.0.0.7", scores: new Float32Array(10),
 * });
 * await capture.close();
 * for await (const { id } of readCaptures(dir)) {
 *   await Deno.writeTextFile(`${dir}/${LABELS_FILE}`, `${id},7\n20261128T0830Z-1a2b3c4d-18,x\n`);
 * }
 * const { digits, missing } = await loadLabelledCaptures(dir);
 * console.log(digits.length, "labelled digits;", missing.length, "labels without a capture");
 * // 1 labelled digits; 1 labels without a capture
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { capturePixels, readCaptures } from "../server/capture/capture_read.ts";
import type { MnistDigit } from "../models/mnist_data.ts";

/** The label file's name in a capture folder. */
export const LABELS_FILE = "labels.csv";

/** A label: a digit 0..9, or null for "not a digit". */
export type Label = number | null;

/** Thrown for a label file that cannot be read as one; says the line. */
export class LabelError extends Error {
  override name = "LabelError";
}

/** Reads a label file's text; later lines win. */
export function parseLabels(text: string, source = LABELS_FILE): Map<string, Label> {
  const labels = new Map<string, Label>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#") || /^id\s*,\s*label$/i.test(line)) return;
    const match = /^([^,\s]+)\s*,\s*([0-9xX])$/.exec(line);
    if (!match) {
      throw new LabelError(
        `${source} line ${i + 1}: expected "<capture id>,<digit 0-9 or x>", got "${line}"`,
      );
    }
    labels.set(match[1], /[xX]/.test(match[2]) ? null : Number(match[2]));
  });
  return labels;
}

/** What `loadLabelledCaptures` found. */
export interface LabelledCaptures {
  /** The labelled digits (`index` -1: they are not MNIST's). */
  digits: MnistDigit[];
  /** The capture id of each of `digits`, in the same order. */
  ids: string[];
  /** Ids labelled `x`. */
  skipped: number;
  /** Ids in the label file with no capture (e.g. rotated away past the size cap). */
  missing: string[];
  /** Captured digits with no label yet. */
  unlabelled: number;
}

/** The labelled digits of capture folder `dir`, labels from `labelsPath` (default `dir/labels.csv`). */
export async function loadLabelledCaptures(
  dir: string,
  labelsPath = `${dir}/${LABELS_FILE}`,
): Promise<LabelledCaptures> {
  let text: string;
  try {
    text = await Deno.readTextFile(labelsPath);
  } catch (e) {
    throw new LabelError(`cannot read the label file ${labelsPath}: ${(e as Error).message}`);
  }
  const labels = parseLabels(text, labelsPath);
  const digits: MnistDigit[] = [];
  const ids: string[] = [];
  const found = new Set<string>();
  let skipped = 0;
  let unlabelled = 0;
  for await (const record of readCaptures(dir)) {
    if (found.has(record.id)) continue;
    found.add(record.id);
    const label = labels.get(record.id);
    if (label === undefined) unlabelled++;
    else if (label === null) skipped++;
    else {
      digits.push({ pixels: capturePixels(record), label, index: -1 });
      ids.push(record.id);
    }
  }
  const missing = [...labels.keys()].filter((id) => !found.has(id));
  return { digits, ids, skipped, missing, unlabelled };
}
