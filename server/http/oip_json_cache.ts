/**
 * An inference request's JSON around its pixels, parsed once per distinct
 * bytes. A board or a client sends the same document every time but for the
 * pixels (`findInputData` cuts them out) or the binary data after it: the
 * same input name, datatype, shape and outputs, byte for byte. So the last
 * few documents parsed are kept with their bytes, and a request whose bytes
 * around the cut are the same gets the same parsed value without decoding or
 * parsing again (about half of what splitting a 784-pixel JSON body cost the
 * event loop). Anything else is parsed as before, so every answer stays what
 * `JSON.parse` gives.
 *
 * A kept value is shared by every request that matches it: it is frozen,
 * so a route that tried to change it would throw rather than change the
 * next request. Only small documents are kept (`MAX_KEPT_BYTES`), a fixed
 * number of them, so the cache holds a few KB whatever clients send.
 *
 * @example
 * ```ts
 * import { parseAround } from "./oip_json_cache.ts";
 *
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * const first = parseAround(bytes('{"inputs":[{"data":[1,2,3]}]}'), 19, 26); // [1,2,3] cut
 * console.log(JSON.stringify(first)); // {"inputs":[{"data":[]}]}
 * const again = parseAround(bytes('{"inputs":[{"data":[9,9]}]}'), 19, 24); // [9,9] cut
 * console.log(again === first); // true: the same bytes around the cut
 * ```
 * @module
 */

/** Documents (without their cut) larger than this are parsed every time and never kept. */
export const MAX_KEPT_BYTES = 1024;

/** How many documents are kept, the oldest replaced first. */
const KEPT = 8;

/** One parsed document and the bytes before and after its cut. */
interface Kept {
  before: Uint8Array;
  after: Uint8Array;
  json: unknown;
}

const kept: Kept[] = [];
let replace = 0;

/** Strict: bytes that are not UTF-8 are an error, as the whole parse says. */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The same for the bytes after the cut, keeping a byte order mark they
 * start with: only the document's first bytes may be one (as the whole
 * parse's decode drops it); anywhere else it is not JSON's whitespace, so
 * `JSON.parse` must see it and refuse the document.
 */
const STRICT_UTF8_REST = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Whether `bytes` at `offset` holds `part`. */
function holds(bytes: Uint8Array, offset: number, part: Uint8Array): boolean {
  for (let i = 0; i < part.length; i++) if (bytes[offset + i] !== part[i]) return false;
  return true;
}

/** Freezes `value` and everything in it. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * `JSON.parse` of `bytes` with `[start, end)` replaced by `[]` (nothing cut
 * when `start === end`). A small document's value is kept, frozen, and
 * shared with later requests of the same bytes around the cut; a larger one
 * is parsed each time, unfrozen. Throws as `JSON.parse` and a strict UTF-8
 * decode do; `[start, end)` must be cut at ASCII, so UTF-8 stays whole.
 */
export function parseAround(bytes: Uint8Array, start: number, end: number): unknown {
  const afterLength = bytes.length - end;
  for (const entry of kept) {
    if (
      entry.before.length === start && entry.after.length === afterLength &&
      holds(bytes, end, entry.after) && holds(bytes, 0, entry.before)
    ) return entry.json;
  }
  const json = start === end ? JSON.parse(STRICT_UTF8.decode(bytes)) : JSON.parse(
    STRICT_UTF8.decode(bytes.subarray(0, start)) + "[]" +
      STRICT_UTF8_REST.decode(bytes.subarray(end)),
  );
  if (start + afterLength > MAX_KEPT_BYTES) return json;
  kept[replace] = {
    before: bytes.slice(0, start),
    after: bytes.slice(end),
    json: deepFreeze(json),
  };
  replace = (replace + 1) % KEPT;
  return json;
}
