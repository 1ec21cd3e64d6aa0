// Writing inference responses, checked against Triton's documents: the binary tensor data
// extension (little-endian, outputs in order after the JSON, a BYTES element as a 4-byte
// little-endian length then its bytes) and the classification extension (BYTES, shape
// [batch, count], "<value>:<index>" for the highest values, highest first). The document's example
// writes the value short ("3.3:1"); Triton's classification.cc writes it with std::to_string, six
// decimals ("3.300000:1"), and so does this server.
import assert from "node:assert/strict";
import { type DigitAnswer, encodeInferResponse, printfFixed } from "./oip_response.ts";
import { type InferRequest, type RequestedOutput } from "./oip_request.ts";
import { testModelInfo } from "../testing/model_info.ts";

const model = testModelInfo({ version: "3" });

// The extension's example output [1.1, 3.3, 0.5, 2.4], padded to a digit's 10 scores.
const first: DigitAnswer = {
  scores: Float32Array.from([1.1, 3.3, 0.5, 2.4, 0, 0, 0, 0, 0, 0]),
  predicted: 1,
};
const second: DigitAnswer = {
  scores: Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0.25, 0.0078125, 0.5]),
  predicted: 9,
};

function encode(outputs: RequestedOutput[], answers = [first, second]) {
  const request: InferRequest = { id: "r", n: answers.length, u8: null, f32: null, outputs };
  const reply = encodeInferResponse(request, answers, model);
  const length = Number(reply.headers["inference-header-content-length"] ?? reply.body.length);
  const json = JSON.parse(new TextDecoder().decode(reply.body.subarray(0, length)));
  return { reply, json, binary: reply.body.subarray(length) };
}

/** A binary BYTES tensor read back: 4-byte little-endian length, then the bytes. */
function readBytesTensor(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const strings: string[] = [];
  for (let at = 0; at < bytes.length;) {
    const length = view.getUint32(at, true);
    strings.push(new TextDecoder().decode(bytes.subarray(at + 4, at + 4 + length)));
    at += 4 + length;
  }
  return strings;
}

Deno.test("classification in JSON: BYTES [batch, K] of value:index, highest first", () => {
  const { json, reply } = encode([{ name: "probabilities", binary: false, classes: 2 }]);
  assert.equal(reply.headers["content-type"], "application/json");
  assert.deepEqual(json, {
    model_name: "mnist",
    model_version: "3",
    id: "r",
    outputs: [{
      name: "probabilities",
      datatype: "BYTES",
      shape: [2, 2],
      data: ["3.300000:1", "2.400000:3", "0.500000:9", "0.250000:7"],
    }],
  });
});

Deno.test("classification asking for more classes than the output has gives them all", () => {
  const { json } = encode([{ name: "probabilities", binary: false, classes: 50 }], [second]);
  const output = json.outputs[0];
  assert.deepEqual(output.shape, [1, 10]);
  // Ties keep index order; 1/128 is a tie at the seventh decimal, rounded to even as C does.
  assert.deepEqual(output.data, [
    "0.500000:9",
    "0.250000:7",
    "0.007812:8",
    ...[0, 1, 2, 3, 4, 5, 6].map((i) => `0.000000:${i}`),
  ]);
});

Deno.test("classification in binary: length-prefixed elements, binary_data_size", () => {
  const { json, binary, reply } = encode([
    { name: "predicted", binary: false, classes: 0 },
    { name: "probabilities", binary: true, classes: 3 },
  ]);
  assert.equal(reply.headers["content-type"], "application/octet-stream");
  const [predicted, classes] = json.outputs;
  assert.deepEqual(predicted, { name: "predicted", datatype: "INT32", shape: [2], data: [1, 9] });
  assert.deepEqual(classes, {
    name: "probabilities",
    datatype: "BYTES",
    shape: [2, 3],
    parameters: { binary_data_size: binary.length },
  });
  assert.equal(binary.length, 6 * (4 + 10), "six elements of ten characters, each after 4 bytes");
  assert.deepEqual(readBytesTensor(binary), [
    "3.300000:1",
    "2.400000:3",
    "1.100000:0",
    "0.500000:9",
    "0.250000:7",
    "0.007812:8",
  ]);
  assert.deepEqual(Array.from(binary.subarray(0, 4)), [10, 0, 0, 0], "the length is little-endian");
});

Deno.test("classification of the INT32 output: its one value per digit at index 0", () => {
  const { json } = encode([{ name: "predicted", binary: false, classes: 5 }]);
  assert.deepEqual(json.outputs[0], {
    name: "predicted",
    datatype: "BYTES",
    shape: [2, 1],
    data: ["1:0", "9:0"],
  });
});

Deno.test("every output in binary: in order, unpadded, little-endian", () => {
  const { json, binary } = encode([
    { name: "probabilities", binary: true, classes: 0 },
    { name: "predicted", binary: true, classes: 0 },
  ]);
  assert.deepEqual(json.outputs.map((o: Record<string, unknown>) => [o.shape, o.parameters]), [
    [[2, 10], { binary_data_size: 80 }],
    [[2], { binary_data_size: 8 }],
  ]);
  assert.equal(binary.length, 88);
  const view = new DataView(binary.buffer, binary.byteOffset, binary.byteLength);
  assert.equal(view.getFloat32(4, true), Math.fround(3.3));
  assert.equal(view.getInt32(84, true), 9);
});

Deno.test("values are written as C's %f writes them (std::to_string)", () => {
  // Each right-hand side is what C's printf("%f") prints for the same double.
  const cases: [number, string][] = [
    [Math.fround(0.1), "0.100000"],
    [0.0078125, "0.007812"],
    [0.0234375, "0.023438"],
    [0.9999996, "1.000000"],
    [123.4567891, "123.456789"],
    [2.5e-6, "0.000003"],
    [5e-7, "0.000000"],
    [5e-324, "0.000000"],
    [1e20, "100000000000000000000.000000"],
    [-0.5, "-0.500000"],
    [-0, "-0.000000"],
    [NaN, "nan"],
    [-Infinity, "-inf"],
  ];
  for (const [value, c] of cases) assert.equal(printfFixed(value), c, `printf("%f", ${value})`);
});

Deno.test("a plain JSON reply is the same bytes as the document JSON.stringify writes", () => {
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const answers = Array.from({ length: 3 }, (_, i) => ({
    // Doubles: the reply holds them as FP32, as the typed arrays of the general path do.
    scores: Array.from({ length: 10 }, () => random() * (i === 2 ? 1e-30 : 1)),
    predicted: i * 3,
  }));
  const plain = { n: 3, u8: null, f32: null };
  for (
    const request of [
      {
        ...plain,
        id: 'a "quoted" id',
        outputs: [{ name: "probabilities", binary: false, classes: 0 }],
      },
      {
        ...plain,
        id: undefined,
        outputs: [
          { name: "predicted", binary: false, classes: 0 },
          { name: "probabilities", binary: false, classes: 0 },
        ],
      },
    ]
  ) {
    const reply = encodeInferResponse(request, answers, model);
    const document = {
      model_name: "mnist",
      model_version: "3",
      ...(request.id === undefined ? {} : { id: request.id }),
      outputs: request.outputs.map(({ name }) =>
        name === "predicted"
          ? { name, datatype: "INT32", shape: [3], data: answers.map((a) => a.predicted) }
          : {
            name,
            datatype: "FP32",
            shape: [3, 10],
            data: answers.flatMap((a) => a.scores.map(Math.fround)),
          }
      ),
    };
    assert.equal(new TextDecoder().decode(reply.body), JSON.stringify(document));
    assert.deepEqual(reply.headers, { "content-type": "application/json" });
  }
  // A score JSON cannot hold as a number is written as JSON.stringify writes it: null.
  const nan = encodeInferResponse(
    { ...plain, id: undefined, outputs: [{ name: "probabilities", binary: false, classes: 0 }] },
    [{ scores: [NaN, ...new Array(9).fill(0)], predicted: 0 }],
    model,
  );
  assert.match(new TextDecoder().decode(nan.body), /"data":\[null,0,/);
});
