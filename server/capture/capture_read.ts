/**
 * Reading what `--capture` wrote (`capture.ts`): the files of a capture
 * folder, oldest first, and their records, one JSON object per line; the
 * format is described in `capture.ts`. A line cut short by a crash is
 * skipped.
 *
 * @example
 * ```ts
 * import { capturePixels, readCaptures } from "./capture_read.ts";
 *
 * const dir = await Deno.makeTempDir({ prefix: "capture-" });
 * for await (const record of readCaptures(dir)) console.log(record.id, capturePixels(record)[0]);
 * await Deno.remove(dir);
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import { DIGIT_PIXELS } from "../../shared/codec.ts";
import type { CaptureReason } from "./capture_rule.ts";

/** One captured digit. */
export interface CaptureRecord {
  /** Unique across processes and restarts: what a label file refers to. */
  id: string;
  /** ISO 8601, UTC. */
  time: string;
  model: string;
  version: number;
  /** The device's id in the fleet (the token's name, its `device` field, or `addr:<address>`). */
  device: string;
  /** The digit the answering version gave, 0..9. */
  prediction: number;
  /** The answering version's score for that digit. */
  confidence: number;
  /** The rule's term that kept it (absent in records of older servers). */
  reason?: CaptureReason;
  /** Each version that saw the digit (by number) and its 10 scores, rounded to 4 decimals. */
  scores?: Record<string, number[]>;
  /** The shadow candidate's version, when one compared the digit. */
  shadow?: number;
  /** base64 of 784 bytes, row-major, 0..255. */
  pixels: string;
}
/** Name of the files, `capture-<process>-<n>.jsonl`. */
export const CAPTURE_FILE = /^capture-[0-9A-Za-z]+-[0-9a-f]+-(\d+)\.jsonl$/;
/** The capture files in `dir`, oldest first (by process start, then number). */
export async function captureFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && CAPTURE_FILE.test(entry.name)) names.push(entry.name);
  }
  const key = (name: string) => {
    const n = Number(CAPTURE_FILE.exec(name)![1]);
    return [name.slice(0, name.lastIndexOf("-")), n] as const;
  };
  names.sort((a, b) => {
    const [pa, na] = key(a);
    const [pb, nb] = key(b);
    return pa < pb ? -1 : pa > pb ? 1 : na - nb;
  });
  return names.map((name) => `${dir}/${name}`);
}

/**
 * Reads one line of a capture file. Returns null for a line that is not a
 * whole record (a file cut short by a crash ends in one).
 */
export function parseCaptureLine(line: string): CaptureRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const r = value as Partial<CaptureRecord> | null;
  if (
    !r || typeof r.id !== "string" || typeof r.pixels !== "string" ||
    typeof r.prediction !== "number" || typeof r.version !== "number"
  ) return null;
  return r as CaptureRecord;
}

/** A record's digit as 784 floats, 0..1, as the model takes it. */
export function capturePixels(record: CaptureRecord): Float32Array {
  const bytes = Buffer.from(record.pixels, "base64");
  if (bytes.length !== DIGIT_PIXELS) {
    throw new RangeError(
      `capture ${record.id} has ${bytes.length} pixels, expected ${DIGIT_PIXELS}`,
    );
  }
  return Float32Array.from(bytes, (b) => b / 255);
}

/** Every record in the capture files of `dir`, oldest file first; broken lines are skipped. */
export async function* readCaptures(dir: string): AsyncGenerator<CaptureRecord> {
  for (const path of await captureFiles(dir)) {
    for (const line of (await Deno.readTextFile(path)).split("\n")) {
      const record = line ? parseCaptureLine(line) : null;
      if (record) yield record;
    }
  }
}
