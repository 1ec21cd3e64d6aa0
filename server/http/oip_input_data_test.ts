// The pixels of an OIP request read from its bytes, checked against JSON.parse itself: whatever
// the scan finds is exactly what the whole document's parse holds at inputs[0].data, and the
// document without it parses as the whole one does (or fails as it does).
import assert from "node:assert/strict";
import { findInputData } from "./oip_input_data.ts";
import { parseInferRequest } from "./oip_request.ts";
import { testModelInfo } from "../testing/model_info.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** What the scan says of `doc`, checked against `JSON.parse` of the whole document. */
function scanMatchesParse(doc: Uint8Array): boolean {
  const found = findInputData(doc);
  let whole: { inputs?: { data?: unknown }[] } | undefined;
  try {
    whole = JSON.parse(text(doc));
  } catch {
    whole = undefined;
  }
  if (!found) return false;
  const without = text(doc.subarray(0, found.start)) + "[]" + text(doc.subarray(found.end));
  if (whole === undefined) {
    assert.throws(() => JSON.parse(without), `${text(doc)} parses without its data`);
    return true;
  }
  assert.deepEqual(Array.from(found.values), whole.inputs![0].data, text(doc));
  whole.inputs![0].data = [];
  assert.deepEqual(JSON.parse(without), whole, text(doc));
  return true;
}

Deno.test("the first input's flat whole numbers are found, whatever the spacing and the keys around them", () => {
  for (
    const doc of [
      '{"inputs":[{"name":"input","datatype":"UINT8","shape":[1,3],"data":[0,7,255]}]}',
      '{ "id" : "a\\"data\\":[1]" , "inputs" : [ { "data" : [ 0 ,\n7 ,\t255 ] , "name":"input" } ] }',
      '{"outputs":[{"name":"p","parameters":{"data":[9]}}],"inputs":[{"parameters":{"data":[1]},"data":[3,4]}]}',
      '{"inputs":[{"data":[5]}],"data":[6],"x":{"inputs":[{"data":[7]}]}}',
    ]
  ) assert.ok(scanMatchesParse(bytes(doc)), doc);
  assert.deepEqual(Array.from(findInputData(bytes('{"inputs":[{"data":[0, 7,255]}]}'))!.values), [
    0,
    7,
    255,
  ]);
});

Deno.test("anything the scan does not read exactly is left to the whole document's parse", () => {
  for (
    const doc of [
      '{"inputs":[{"data":[]}]}', // empty
      '{"inputs":[{"data":[[1,2]]}]}', // nested
      '{"inputs":[{"data":[-1]}]}', // a sign
      '{"inputs":[{"data":[1.0]}]}', // a fraction
      '{"inputs":[{"data":[1e2]}]}', // an exponent
      '{"inputs":[{"data":[256]}]}', // over 255
      '{"inputs":[{"data":[01]}]}', // not JSON
      '{"inputs":[{"data":[1,]}]}', // not JSON
      '{"inputs":[{"data":"1,2"}]}', // not an array
      '{"inputs":[{"d\\u0061ta":[1]}]}', // an escaped key
      '{"inp\\u0075ts":[{"data":[1]}]}',
      '{"inputs":[{"data":[1],"data":[2]}]}', // JSON.parse keeps the last
      '{"inputs":[{"data":[1]}],"inputs":[{"data":[2]}]}',
      '{"inputs":[{"name":"a"},{"data":[1]}]}', // not the first input
      '{"inputs":{"data":[1]}}', // not an array of inputs
      '{"inputs":[{"data":[1,2',
    ]
  ) assert.equal(findInputData(bytes(doc)), null, doc);
});

Deno.test("10,000 mutated documents: whatever the scan finds, JSON.parse agrees with", () => {
  const seeds = [
    '{"id":"x","inputs":[{"name":"input","datatype":"UINT8","shape":[1,4],"data":[0,12,255,3]}],' +
    '"outputs":[{"name":"probabilities","parameters":{"binary_data":false}}]}',
    '{"inputs":[{"parameters":{"data":[1]},"data":[3,4]},{"data":[5]}],"data":[6]}',
    '{"id":"q\\"\\\\","inputs":[ { "data" : [ 1 , 2 ] } ]}',
  ];
  // A small deterministic generator: the same documents on every run.
  let state = 12345;
  const random = (n: number) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  const alphabet = bytes('{}[]",:0129 \\-.e"adtinpus');
  let found = 0;
  for (let k = 0; k < 10_000; k++) {
    const doc = Array.from(bytes(seeds[k % seeds.length]));
    for (let m = 1 + random(3); m > 0; m--) {
      const at = random(doc.length);
      const c = alphabet[random(alphabet.length)];
      const kind = random(3);
      if (kind === 0) doc[at] = c;
      else if (kind === 1) doc.splice(at, 0, c);
      else doc.splice(at, 1);
    }
    if (scanMatchesParse(Uint8Array.from(doc))) found++;
  }
  assert.ok(found > 1000, `the scan found data in ${found} documents`);
});

Deno.test("a request read through the scan is the request read whole: same digits, same errors", () => {
  const model = testModelInfo({ inputDims: [-1, 784], maxBatch: 8, runtime: "x" });
  const pixels = Array.from({ length: 784 * 2 }, (_, i) => (i * 37) % 256);
  for (const datatype of ["UINT8", "FP32"]) {
    const request = (data: unknown, shape = [2, 784]) =>
      bytes(JSON.stringify({ inputs: [{ name: "input", datatype, shape, data }] }));
    // Nested rows are left to the whole parse: the oracle.
    const rows = [pixels.slice(0, 784), pixels.slice(784)];
    assert.ok(findInputData(request(pixels)) && !findInputData(request(rows)));
    assert.deepEqual(
      parseInferRequest(request(pixels), null, model),
      parseInferRequest(request(rows), null, model),
    );
    // A length that does not fit the shape: the same error either way.
    assert.deepEqual(
      String(parseInferRequest(request(pixels, [3, 784]), null, model)),
      String(parseInferRequest(request(rows, [3, 784]), null, model)),
    );
  }
});

Deno.test("more than 256 digits' numbers are left to the whole parse, and the next request is read as before", () => {
  const big = bytes(JSON.stringify({ inputs: [{ data: new Array(256 * 784 + 1).fill(1) }] }));
  assert.equal(findInputData(big), null);
  const most = findInputData(
    bytes(JSON.stringify({ inputs: [{ data: new Array(256 * 784).fill(2) }] })),
  );
  assert.equal(most?.values.length, 256 * 784);
  assert.deepEqual(Array.from(findInputData(bytes('{"inputs":[{"data":[3,4]}]}'))!.values), [3, 4]);
});
