// The JSON around a request's pixels, parsed once per distinct bytes
// (server/http/oip_json_cache.ts): the same value as JSON.parse always, one
// shared frozen value for the same bytes, never for different ones.
import assert from "node:assert/strict";
import { MAX_KEPT_BYTES, parseAround } from "./oip_json_cache.ts";

const encoder = new TextEncoder();

/** A body with `pixels` as its data array, and where that array is. */
function body(pixels: string, rest = `"name":"input"`): [Uint8Array, number, number] {
  const text = `{"inputs":[{${rest},"data":${pixels}}],"outputs":[{"name":"probabilities"}]}`;
  const start = text.indexOf(pixels);
  return [encoder.encode(text), start, start + pixels.length];
}

Deno.test("the same bytes around the cut give one frozen value, equal to JSON.parse's", () => {
  const first = parseAround(...body("[1,2,3]"));
  const second = parseAround(...body("[255, 0]"));
  assert.equal(second, first);
  assert.deepEqual(
    first,
    JSON.parse(`{"inputs":[{"name":"input","data":[]}],"outputs":[{"name":"probabilities"}]}`),
  );
  assert.ok(Object.isFrozen(first));
  // Frozen all the way down: a route cannot change what the next request gets.
  assert.throws(() => {
    (first as { inputs: { name: string }[] }).inputs[0].name = "changed";
  }, TypeError);
});

Deno.test("different bytes around the cut, or a different cut, are parsed again", () => {
  const a = parseAround(...body("[1]", `"name":"input"`));
  const b = parseAround(...body("[1]", `"name":"other"`));
  assert.notEqual(a, b);
  assert.equal((b as { inputs: { name: string }[] }).inputs[0].name, "other");
  // The same bytes with no cut: the whole document, its data array kept.
  const [bytes] = body("[7]");
  const whole = parseAround(bytes, bytes.length, bytes.length);
  assert.deepEqual((whole as { inputs: { data: number[] }[] }).inputs[0].data, [7]);
});

Deno.test("more distinct documents than are kept: each still parses to its own value", () => {
  const names = Array.from({ length: 20 }, (_, i) => `input${i}`);
  for (let round = 0; round < 2; round++) {
    for (const name of names) {
      const parsed = parseAround(...body("[1]", `"name":"${name}"`)) as {
        inputs: { name: string }[];
      };
      assert.equal(parsed.inputs[0].name, name);
    }
  }
});

Deno.test("a large document is parsed every time and left unfrozen", () => {
  const [bytes] = body(`[${"0,".repeat(MAX_KEPT_BYTES)}0]`);
  const one = parseAround(bytes, bytes.length, bytes.length);
  const two = parseAround(bytes, bytes.length, bytes.length);
  assert.notEqual(one, two);
  assert.ok(!Object.isFrozen(one));
});

Deno.test("errors are JSON.parse's and a strict UTF-8 decode's, and nothing is kept of them", () => {
  assert.throws(() => parseAround(encoder.encode("{"), 1, 1), SyntaxError);
  assert.throws(() => parseAround(new Uint8Array([0x22, 0xff, 0x22]), 3, 3), TypeError);
  // Still an error the second time: a failed parse was not kept as a value.
  assert.throws(() => parseAround(encoder.encode("{"), 1, 1), SyntaxError);
});

Deno.test("a byte order mark right after the cut is not JSON: refused as the whole parse refuses it", () => {
  // U+FEFF is JSON whitespace nowhere; a decode of the bytes after the cut
  // must not drop it as if it began a document (only the first bytes may).
  const [bytes, start, end] = body("[1,2]");
  const withMark = new Uint8Array([
    ...bytes.subarray(0, end),
    0xef,
    0xbb,
    0xbf,
    ...bytes.subarray(end),
  ]);
  assert.throws(() => JSON.parse(new TextDecoder().decode(withMark)), SyntaxError);
  assert.throws(() => parseAround(withMark, start, end), SyntaxError);
  // One at the very start is dropped by the whole parse's decode too: both accept it.
  const leading = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]);
  assert.deepEqual(
    parseAround(leading, start + 3, end + 3),
    JSON.parse(new TextDecoder().decode(leading).replace("[1,2]", "[]")),
  );
});
