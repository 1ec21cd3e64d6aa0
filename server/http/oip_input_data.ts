/**
 * The common OIP request's pixels, read from the body's bytes: a JSON
 * request's `inputs[0].data` as a flat array of whole numbers 0..255 (what a
 * board's bytes become) is found by a scan that follows the document's
 * nesting, and its numbers are parsed straight into bytes. `JSON.parse` then
 * reads the rest of the document with that array left out (`[]` in its
 * place): no JavaScript array of 784 numbers per digit is built and checked
 * one element at a time, which cost the event loop more than the rest of the
 * request's parsing.
 *
 * The scan gives up (null) on anything it does not read exactly: nested or
 * empty arrays, a sign, a fraction or an exponent, a number over 255, a key
 * written with escapes, a repeated `inputs` or `data` key, more than 256
 * digits' numbers. The caller then
 * parses the whole document as before, so every answer (and every error)
 * stays what `JSON.parse` and the full checks give.
 *
 * @example
 * ```ts
 * import { findInputData } from "./oip_input_data.ts";
 *
 * const body = new TextEncoder().encode('{"inputs":[{"name":"input","data":[0, 7,255]}]}');
 * const found = findInputData(body)!;
 * console.log(found.values); // Uint8Array(3) [ 0, 7, 255 ]
 * console.log(new TextDecoder().decode(body.subarray(found.start, found.end))); // [0, 7,255]
 * ```
 * @module
 */
import { ByteSlab } from "../core/byte_slab.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;

/** JSON's whitespace: space, tab, line feed, carriage return. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Where `inputs[0].data` is in the body (`[` to past `]`), and its numbers. */
export interface InputData {
  start: number;
  end: number;
  /** The numbers: the caller's own bytes, a view of a slab shared with later requests' (`ByteSlab`). */
  values: Uint8Array;
}

/**
 * Parsed numbers before they are cut to size: one buffer for every request
 * (the result is a copy), of a fixed size, so no request leaves it larger.
 * An array of more numbers (over 256 digits) is left to the whole parse.
 */
const scratch = new Uint8Array(256 * 784);

/** Where the numbers go once read: views of shared slabs (a view's `buffer` is the slab's). */
const pixels = new ByteSlab(32 * 784);

/** Whether `body[from, to)` is the bytes of `word` (ASCII). */
function bytesAre(body: Uint8Array, from: number, to: number, word: string): boolean {
  if (to - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (body[from + i] !== word.charCodeAt(i)) return false;
  return true;
}

/** The array of whole numbers 0..255 that opens at `at` (`[`), or null when it is anything else. */
function numbersAt(body: Uint8Array, at: number): InputData | null {
  let i = at + 1;
  let count = 0;
  // Commas without spaces first: the common document costs a few compares a number.
  for (;;) {
    let c = body[i];
    if (!(c >= ZERO && c <= NINE)) {
      while (isSpace(c)) c = body[++i];
      // Not a number: "]" of an empty array (the full checks say so), a sign, the end.
      if (!(c >= ZERO && c <= NINE)) return null;
    }
    let value = c - ZERO;
    c = body[++i];
    if (value !== 0) {
      while (c >= ZERO && c <= NINE) {
        value = value * 10 + c - ZERO;
        c = body[++i];
      }
      if (value > 255) return null;
    }
    if (count === scratch.length) return null;
    scratch[count++] = value;
    if (c === COMMA) {
      i++;
      continue;
    }
    while (isSpace(c)) c = body[++i];
    if (c === COMMA) i++;
    else if (c === CLOSE_ARRAY) break;
    else return null; // "01", "1.5", "1e2", a nested array, the end of the body
  }
  const values = pixels.take(count);
  values.set(scratch.subarray(0, count));
  return { start: at, end: i + 1, values };
}

/**
 * Finds `inputs[0].data` in a JSON request body when it is a flat array of
 * whole numbers 0..255; null when it is not there, not such an array, or the
 * document is not one the scan reads exactly (the caller parses it whole).
 */
export function findInputData(body: Uint8Array): InputData | null {
  let depth = 0;
  // The last key read at the top level was "inputs"; how many such keys.
  let rootKeyIsInputs = false;
  let inputsKeys = 0;
  // The inputs array is open (at depth 2), the index of its element, the first element is open.
  let inInputs = false;
  let element = 0;
  let inFirst = false;
  let found: InputData | null = null;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === QUOTE) {
      const from = i + 1;
      let escaped = false;
      for (i = from; i < body.length && body[i] !== QUOTE; i++) {
        if (body[i] === BACKSLASH) {
          escaped = true;
          i++;
        }
      }
      const to = i;
      let next = i + 1;
      while (next < body.length && isSpace(body[next])) next++;
      if (body[next] !== COLON) continue; // a value, not a key
      if (depth === 1) {
        rootKeyIsInputs = !escaped && bytesAre(body, from, to, "inputs");
        if (escaped || (rootKeyIsInputs && ++inputsKeys > 1)) return null;
      } else if (depth === 3 && inFirst && (escaped || bytesAre(body, from, to, "data"))) {
        if (escaped || found) return null;
        let value = next + 1;
        while (value < body.length && isSpace(body[value])) value++;
        if (body[value] !== OPEN_ARRAY) return null;
        found = numbersAt(body, value);
        if (!found) return null;
        i = found.end - 1;
      }
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
      if (depth === 2 && c === OPEN_ARRAY && rootKeyIsInputs) {
        inInputs = true;
        element = 0;
      } else if (depth === 3 && c === OPEN_OBJECT && inInputs && element === 0) inFirst = true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth === 3) inFirst = false;
      if (depth === 2) inInputs = false;
      depth--;
    } else if (c === COMMA && depth === 2 && inInputs) element++;
  }
  return found;
}
