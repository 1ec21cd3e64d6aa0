/**
 * The first half of reading an Open Inference Protocol inference request:
 * its body split into the JSON part and the binary data after it (Triton's
 * `Inference-Header-Content-Length`), the JSON parsed, its nesting bounded,
 * and the first input's pixels read without building an array. Nothing here
 * needs the model: a listener Worker splits, the main thread checks
 * (`oip_request.ts`). Pure functions: no I/O.
 *
 * @example
 * ```ts
 * import { splitBody } from "./oip_request_body.ts";
 *
 * const json = new TextEncoder().encode(JSON.stringify({ inputs: [] }));
 * const body = new Uint8Array([...json, 1, 2, 3]);
 * const split = splitBody(body, String(json.length));
 * console.log(split); // { json: { inputs: [] }, binary: Uint8Array(3) [1, 2, 3], data: null, withHeaderLength: true }
 * ```
 * @module
 */
import { shown, Status, WireError } from "../../shared/errors.ts";
import { findInputData } from "./oip_input_data.ts";
import { parseAround } from "./oip_json_cache.ts";

const bad = (message: string) => new WireError(Status.MALFORMED_BUFFER, message);

/** A JSON object as parsed. */
export type Json = Record<string, unknown>;

/** Whether `v` is a JSON object (not null, not an array). */
export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A body split by `splitBody`: what a request says before any model is
 * looked up (plain data: it crosses from a listener Worker as it is).
 */
export interface SplitBody {
  json: Json;
  binary: Uint8Array;
  data: Uint8Array | null;
  /** An `Inference-Header-Content-Length` came with the body. */
  withHeaderLength: boolean;
}

/** A body without binary data: one empty array for all (a new one is a buffer outside the heap). */
const NO_BINARY: Uint8Array = new Uint8Array(0);

/** One decoder for every request: a whole-buffer decode keeps no state between calls. */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Splits a body into its JSON part and the binary data after it
 * (`headerLength` is the `Inference-Header-Content-Length`, null without one:
 * plain decimal digits, at most the body's length). `data`: the first
 * input's pixels when the JSON carries them as whole numbers 0..255
 * (`findInputData`), read without building an array; the JSON then has an
 * empty array in their place.
 */
export function splitBody(
  body: Uint8Array,
  headerLength: string | null,
): SplitBody | WireError {
  let jsonBytes = body;
  let binary = NO_BINARY;
  if (headerLength !== null) {
    // Number() would also take "0x10", "1e1" and " 16 ": the header is a length in decimal digits.
    if (!/^[0-9]+$/.test(headerLength)) {
      return bad(
        `Inference-Header-Content-Length ${shown(headerLength)} is not a length in decimal digits`,
      );
    }
    const length = Number(headerLength);
    if (length > body.length) {
      return bad(
        `Inference-Header-Content-Length ${headerLength} is longer than the body of ${body.length} bytes`,
      );
    }
    jsonBytes = body.subarray(0, length);
    binary = body.subarray(length);
  }
  const found = findInputData(jsonBytes);
  let json: unknown;
  try {
    json = found
      ? parseAround(jsonBytes, found.start, found.end)
      : parseAround(jsonBytes, jsonBytes.length, jsonBytes.length);
  } catch {
    // What the whole document's parse says is the error, whichever parse failed.
    try {
      json = JSON.parse(STRICT_UTF8.decode(jsonBytes));
    } catch (e) {
      return bad(`the request is not JSON: ${(e as Error).message}`);
    }
  }
  if (!isObject(json)) return bad("the request must be a JSON object");
  if (deeperThan(json, MAX_DEPTH)) {
    return bad(`the request's JSON nests deeper than ${MAX_DEPTH} levels`);
  }
  return { json, binary, data: found?.values ?? null, withHeaderLength: headerLength !== null };
}

/**
 * How deep a request's JSON may nest: a request nests 7 levels at most (data
 * as nested arrays of [N, 1, 28, 28]). Deeper is refused before anything
 * walks or copies it: a listener Worker posts the parsed request to the main
 * thread, and the copy of a value nested thousands deep overflows the stack.
 */
const MAX_DEPTH = 16;

/** Whether `value` nests arrays or objects more than `levels` deep (never recursing further). */
function deeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (levels === 0) return true;
  const items = Array.isArray(value) ? value : Object.values(value);
  for (const item of items) {
    if (typeof item === "object" && item !== null && deeperThan(item, levels - 1)) return true;
  }
  return false;
}
