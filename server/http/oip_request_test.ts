// Reading inference requests, checked against the protocol's documents: the KServe v2 / Open
// Inference Protocol REST spec ("outputs": each requested output must be one the model has; none
// given means all of them) and Triton's binary tensor data and classification extensions.
import assert from "node:assert/strict";
import { Status, WireError } from "../../shared/errors.ts";
import { type InferRequest, parseInferRequest } from "./oip_request.ts";
import { testModelInfo } from "../testing/model_info.ts";

const model = testModelInfo();

const input = (n = 1) => ({
  name: "input",
  datatype: "UINT8",
  shape: [n, 784],
  data: new Array(784 * n).fill(7),
});

function parse(json: unknown, headerLength: string | null = null, tail = new Uint8Array(0)) {
  const head = new TextEncoder().encode(JSON.stringify(json));
  const body = new Uint8Array(head.length + tail.length);
  body.set(head);
  body.set(tail, head.length);
  return parseInferRequest(body, headerLength, model);
}

function ok(result: InferRequest | WireError): InferRequest {
  if (result instanceof WireError) throw new Error(`unexpected error: ${result}`);
  return result;
}

function refused(result: InferRequest | WireError, pattern: RegExp): WireError {
  assert.ok(
    result instanceof WireError,
    `expected an error, got outputs ${JSON.stringify((result as InferRequest).outputs)}`,
  );
  assert.equal(result.status, Status.MALFORMED_BUFFER);
  assert.match(result.message, pattern);
  return result;
}

Deno.test("an output asked for twice is refused, however many times, never multiplied", () => {
  const twice = parse({
    inputs: [input()],
    outputs: [{ name: "probabilities" }, { name: "probabilities" }],
  });
  refused(twice, /output "probabilities" is asked for more than once/);
  // The reproduction: 20,000 copies beside 128 digits.
  const copies = Array.from({ length: 20_000 }, () => ({ name: "probabilities" }));
  refused(parse({ inputs: [input(128)], outputs: copies }), /more than once/);
  // Different parameters do not make it a different output.
  const mixed = [
    { name: "predicted" },
    { name: "probabilities", parameters: { binary_data: true } },
    { name: "predicted", parameters: { classification: 1 } },
  ];
  refused(parse({ inputs: [input()], outputs: mixed }), /output "predicted" is asked for more/);
});

Deno.test("an unknown output is refused with the model's output names", () => {
  for (const output of [{ name: "logits" }, { name: 3 }, {}, "probabilities", null]) {
    refused(
      parse({ inputs: [input()], outputs: [output] }),
      /^unknown output .*: the model's outputs are "probabilities" and "predicted"$/,
    );
  }
  refused(
    parse({ inputs: [input()], outputs: { name: "predicted" } }),
    /"outputs" must be an array/,
  );
});

Deno.test("with no output asked for, every output of the model comes back", () => {
  for (const outputs of [undefined, []]) {
    assert.deepEqual(ok(parse({ inputs: [input()], outputs })).outputs, [
      { name: "probabilities", binary: false, classes: 0 },
      { name: "predicted", binary: false, classes: 0 },
    ]);
  }
  // binary_data_output applies to every output, those not named included.
  const binary = ok(parse({ parameters: { binary_data_output: true }, inputs: [input()] }));
  assert.deepEqual(binary.outputs.map((o) => [o.name, o.binary]), [
    ["probabilities", true],
    ["predicted", true],
  ]);
});

Deno.test("binary_data on an output overrides the request's binary_data_output", () => {
  const request = ok(parse({
    parameters: { binary_data_output: true },
    inputs: [input()],
    outputs: [
      { name: "predicted", parameters: { binary_data: false } },
      { name: "probabilities" },
    ],
  }));
  assert.deepEqual(request.outputs.map((o) => [o.name, o.binary]), [
    ["predicted", false],
    ["probabilities", true],
  ]);
  refused(
    parse({ inputs: [input()], outputs: [{ name: "predicted", parameters: { binary_data: 1 } }] }),
    /"binary_data" of output "predicted" must be true or false/,
  );
  refused(
    parse({ parameters: { binary_data_output: "yes" }, inputs: [input()] }),
    /"binary_data_output" of the request must be true or false/,
  );
});

Deno.test("classification: a whole number of classes on a requested output", () => {
  const request = ok(parse({
    inputs: [input()],
    outputs: [
      { name: "probabilities", parameters: { classification: 3, binary_data: true } },
      { name: "predicted", parameters: { classification: 0 } },
    ],
  }));
  assert.deepEqual(request.outputs, [
    { name: "probabilities", binary: true, classes: 3 },
    { name: "predicted", binary: false, classes: 0 },
  ]);
  for (const classification of [-1, 1.5, "3", true, 1e300]) {
    refused(
      parse({
        inputs: [input()],
        outputs: [{ name: "probabilities", parameters: { classification } }],
      }),
      /"classification" of output "probabilities" must be a whole number of classes/,
    );
  }
});

Deno.test("Inference-Header-Content-Length is decimal digits within the body", () => {
  const json = { inputs: [input()] };
  const length = new TextEncoder().encode(JSON.stringify(json)).length;
  assert.equal(ok(parse(json, String(length))).n, 1);
  assert.equal(ok(parse(json, `00${length}`)).n, 1, "leading zeros are still decimal digits");
  const hex = `0x${length.toString(16)}`;
  for (const header of [hex, `${length / 10}e1`, ` ${length} `, `+${length}`, `${length}.0`, ""]) {
    refused(
      parse(json, header),
      /^Inference-Header-Content-Length ".*" is not a length in decimal/,
    );
  }
  refused(parse(json, String(length + 1)), /is longer than the body of \d+ bytes/);
  refused(parse(json, "9".repeat(400)), /is longer than the body/);
});

Deno.test("binary input: the header splits JSON from the tensor bytes", () => {
  const pixels = Uint8Array.from({ length: 784 }, (_, i) => i % 256);
  const json = {
    inputs: [{
      name: "input",
      datatype: "UINT8",
      shape: [1, 784],
      parameters: { binary_data_size: 784 },
    }],
  };
  const length = new TextEncoder().encode(JSON.stringify(json)).length;
  assert.deepEqual(ok(parse(json, String(length), pixels)).u8, pixels);
  refused(parse(json, null, pixels), /is not JSON/);
  refused(
    parse(json, String(length), pixels.subarray(1)),
    /binary_data_size is 784 but 783 bytes follow the JSON/,
  );
});

Deno.test("a byte order mark after the pixels is not JSON: the request is refused, not served", () => {
  const text = JSON.stringify({ inputs: [input()] });
  const at = text.indexOf("]", text.indexOf(`"data":`)) + 1; // just past the pixels' array
  const encoded = new TextEncoder().encode(text);
  const body = new Uint8Array([
    ...encoded.subarray(0, at),
    0xef,
    0xbb,
    0xbf,
    ...encoded.subarray(at),
  ]);
  refused(parseInferRequest(body, null, model), /^the request is not JSON: /);
});

Deno.test("JSON nested deeper than 16 levels is refused before it is walked; nested data of [N, 1, 28, 28] is not", () => {
  const nest = (levels: number): unknown => levels === 0 ? 1 : [nest(levels - 1)];
  refused(parse({ id: "x", inputs: [input()], parameters: { a: nest(15) } }), /deeper than 16/);
  refused(parse({ id: nest(5000) as string, inputs: [input()] }), /nests deeper than 16 levels/);
  const rows = Array.from({ length: 28 }, () => new Array(28).fill(7));
  const nested = { name: "input", datatype: "UINT8", shape: [1, 1, 28, 28], data: [[rows]] };
  assert.equal(ok(parse({ inputs: [nested] })).n, 1);
});

Deno.test("a sentence shows at most 40 characters of a value the client sent, and a number as written", () => {
  const huge = "x".repeat(1_000_000);
  for (
    const json of [
      { inputs: [{ ...input(), datatype: huge }] },
      { inputs: [{ ...input(), name: huge }] },
      { inputs: [{ ...input(), shape: [huge] }] },
      { inputs: [input()], outputs: [{ name: huge }] },
      { inputs: [{ ...input(), datatype: "UINT8", data: [huge, ...new Array(783).fill(0)] }] },
    ]
  ) {
    const error = parse(json);
    assert.ok(error instanceof WireError);
    assert.match(error.message, /x{30,}\.\.\./);
    assert.ok(error.message.length < 200, error.message.slice(0, 100));
  }
  const body = new TextEncoder().encode(
    `{"inputs":[{"name":"input","datatype":"UINT8","shape":[1,784],"data":[1e400${
      ",0".repeat(783)
    }]}]}`,
  );
  refused(parseInferRequest(body, null, model), /UINT8 value Infinity at 0 is not an integer/);
});
