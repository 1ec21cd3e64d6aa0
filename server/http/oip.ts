/**
 * The Open Inference Protocol (KServe v2) for this server's one model: the
 * metadata and Triton-style configuration documents, and the inference
 * request and response, in JSON or with Triton's binary tensor data
 * extension (`Inference-Header-Content-Length`, `binary_data_size`,
 * `binary_data`, `binary_data_output`). Pure functions: no I/O.
 *
 * Inputs are FP32 (0..1) or UINT8 (0..255), shaped `[N,1,28,28]`,
 * `[N,28,28]` or `[N,784]`, N from 1 to the max batch. Outputs are
 * `probabilities` (FP32 `[N,10]`, the model's) and, when asked for,
 * `predicted` (INT32 `[N]`, the digit with the highest score).
 *
 * @example
 * ```ts
 * import { parseInferRequest } from "./oip.ts";
 *
 * const model = {
 *   name: "mnist", version: "1", platform: "onnxruntime_onnx", input: "input", output: "probabilities",
 *   inputDims: [-1, 1, 28, 28], maxBatch: 128, runtime: "onnxruntime-web",
 * };
 * const body = new TextEncoder().encode(JSON.stringify({
 *   id: "a", inputs: [{ name: "input", datatype: "UINT8", shape: [1, 784], data: new Array(784).fill(0) }],
 * }));
 * const request = parseInferRequest(body, null, model);
 * console.log(request); // { id: "a", n: 1, ... }
 * ```
 * @module
 */
import { CLASSES, DIGIT_PIXELS } from "../../shared/codec.ts";
import { Status, WireError } from "../../shared/errors.ts";

/** What the HTTP side knows of the model it serves. */
export interface ModelInfo {
  /** The name in `/v2/models/{name}`. */
  name: string;
  version: string;
  /** Triton's platform name, e.g. `onnxruntime_onnx`. */
  platform: string;
  /** The model's input and output tensor names. */
  input: string;
  output: string;
  /** The model's input dims, -1 for the batch. */
  inputDims: number[];
  /** The most digits one request may carry. */
  maxBatch: number;
  runtime: string;
}

/** The server-computed output: the digit with the highest score. */
export const PREDICTED = "predicted";

/** A checked inference request. */
export interface InferRequest {
  id: string | undefined;
  /** Digits in the request. */
  n: number;
  /** n × 784 values: bytes (UINT8) or floats (FP32). */
  u8: Uint8Array | null;
  f32: Float32Array | null;
  /** Outputs asked for, in order, each as JSON or binary. */
  outputs: { name: string; binary: boolean }[];
}

/** One digit's answer. */
export interface DigitAnswer {
  scores: ArrayLike<number>;
  predicted: number;
}

const bad = (message: string) => new WireError(Status.MALFORMED_BUFFER, message);
const badDigits = (message: string) => new WireError(Status.BAD_DIGIT_LENGTH, message);

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The model metadata document (`GET /v2/models/{name}`). */
export function modelMetadata(model: ModelInfo): Json {
  return {
    name: model.name,
    versions: [model.version],
    platform: model.platform,
    inputs: [{ name: model.input, datatype: "FP32", shape: model.inputDims }],
    outputs: [
      { name: model.output, datatype: "FP32", shape: [-1, CLASSES] },
      { name: PREDICTED, datatype: "INT32", shape: [-1] },
    ],
  };
}

/** Triton's model configuration document (`GET /v2/models/{name}/config`). */
export function modelConfig(model: ModelInfo): Json {
  return {
    name: model.name,
    platform: model.platform,
    backend: "onnxruntime",
    runtime: model.runtime,
    version_policy: { latest: { num_versions: 1 } },
    max_batch_size: model.maxBatch,
    input: [{
      name: model.input,
      data_type: "TYPE_FP32",
      format: "FORMAT_NONE",
      dims: model.inputDims.slice(1),
    }],
    output: [
      { name: model.output, data_type: "TYPE_FP32", dims: [CLASSES] },
      { name: PREDICTED, data_type: "TYPE_INT32", dims: [] },
    ],
    // Digits that arrive while a run is going wait for the next, which takes them all at once.
    dynamic_batching: { max_queue_delay_microseconds: 0, preserve_ordering: true },
    instance_group: [{ name: model.name, kind: "KIND_CPU", count: 1 }],
  };
}

/** The digits in a shape `[N,1,28,28]`, `[N,28,28]` or `[N,784]`, or null for any other. */
export function digitsInShape(shape: unknown): number | null {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) return null;
  const [n, ...rest] = shape as number[];
  const tail = rest.join(",");
  return tail === "1,28,28" || tail === "28,28" || tail === "784" ? n : null;
}

/**
 * Splits a body into its JSON part and the binary data after it
 * (`headerLength` is the `Inference-Header-Content-Length`, null without one).
 */
export function splitBody(
  body: Uint8Array,
  headerLength: string | null,
): { json: Json; binary: Uint8Array } | WireError {
  let jsonBytes = body;
  let binary: Uint8Array = new Uint8Array(0);
  if (headerLength !== null) {
    const length = Number(headerLength);
    if (!Number.isInteger(length) || length < 0 || length > body.length) {
      return bad(
        `Inference-Header-Content-Length ${headerLength} does not fit a body of ${body.length} bytes`,
      );
    }
    jsonBytes = body.subarray(0, length);
    binary = body.subarray(length);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(jsonBytes));
  } catch (e) {
    return bad(`the request is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(json)) return bad("the request must be a JSON object");
  return { json, binary };
}

/** Reads and checks an inference request. */
export function parseInferRequest(
  body: Uint8Array,
  headerLength: string | null,
  model: ModelInfo,
): InferRequest | WireError {
  const split = splitBody(body, headerLength);
  if (split instanceof WireError) return split;
  const { json, binary } = split;
  const id = json.id;
  if (id !== undefined && typeof id !== "string") return bad(`"id" must be a string`);
  const inputs = json.inputs;
  if (!Array.isArray(inputs) || inputs.length !== 1 || !isObject(inputs[0])) {
    return bad(`"inputs" must hold exactly one input, "${model.input}"`);
  }
  const input = inputs[0];
  if (input.name !== model.input) {
    return bad(
      `unknown input ${JSON.stringify(input.name)}: the model's input is "${model.input}"`,
    );
  }
  const datatype = input.datatype;
  if (datatype !== "FP32" && datatype !== "UINT8") {
    return bad(`input datatype ${JSON.stringify(datatype)} is not supported: use FP32 or UINT8`);
  }
  const n = digitsInShape(input.shape);
  if (n === null) {
    return badDigits(
      `input shape ${JSON.stringify(input.shape)} is not [N,1,28,28], [N,28,28] or [N,784]`,
    );
  }
  if (n < 1 || n > model.maxBatch) {
    return badDigits(`a request carries 1 to ${model.maxBatch} digits, not ${n}`);
  }
  const values = n * DIGIT_PIXELS;
  const elementSize = datatype === "FP32" ? 4 : 1;
  let u8: Uint8Array | null = null;
  let f32: Float32Array | null = null;
  const params = isObject(input.parameters) ? input.parameters : {};
  if (params.binary_data_size !== undefined) {
    const size = params.binary_data_size;
    if (headerLength === null) {
      return bad("binary_data_size needs the Inference-Header-Content-Length header");
    }
    if (size !== binary.length) {
      return bad(`binary_data_size is ${size} but ${binary.length} bytes follow the JSON`);
    }
    if (size !== values * elementSize) {
      return badDigits(
        `shape ${JSON.stringify(input.shape)} of ${datatype} is ${
          values * elementSize
        } bytes, not ${size}`,
      );
    }
    if (datatype === "UINT8") u8 = binary.slice();
    else {
      f32 = new Float32Array(values);
      const view = new DataView(binary.buffer, binary.byteOffset, binary.byteLength);
      for (let i = 0; i < values; i++) f32[i] = view.getFloat32(i * 4, true);
    }
  } else {
    if (binary.length > 0) {
      return bad(`${binary.length} bytes follow the JSON but no input uses them`);
    }
    // Flat (row-major) or nested arrays; flat ones are used as they are.
    const raw = Array.isArray(input.data) ? input.data : null;
    const data = raw && (raw.length === 0 || !Array.isArray(raw[0])) ? raw : raw?.flat(4);
    if (!data) return bad(`input "${model.input}" has no "data" array`);
    if (data.length !== values) {
      return badDigits(
        `shape ${JSON.stringify(input.shape)} needs ${values} values, got ${data.length}`,
      );
    }
    if (datatype === "UINT8") {
      u8 = new Uint8Array(values);
      for (let i = 0; i < values; i++) {
        const v = data[i];
        if (!Number.isInteger(v) || v < 0 || v > 255) {
          return bad(`UINT8 value ${JSON.stringify(v)} at ${i} is not an integer 0..255`);
        }
        u8[i] = v;
      }
    } else {
      f32 = new Float32Array(values);
      for (let i = 0; i < values; i++) {
        const v = data[i];
        if (typeof v !== "number") {
          return bad(`FP32 value ${JSON.stringify(v)} at ${i} is not a number`);
        }
        f32[i] = v;
      }
    }
  }
  const outputs = parseOutputs(json, model);
  if (outputs instanceof WireError) return outputs;
  return { id, n, u8, f32, outputs };
}

function parseOutputs(json: Json, model: ModelInfo): InferRequest["outputs"] | WireError {
  const params = isObject(json.parameters) ? json.parameters : {};
  const allBinary = params.binary_data_output === true;
  if (json.outputs === undefined) return [{ name: model.output, binary: allBinary }];
  if (!Array.isArray(json.outputs)) return bad(`"outputs" must be an array`);
  const outputs: InferRequest["outputs"] = [];
  for (const output of json.outputs) {
    if (!isObject(output) || (output.name !== model.output && output.name !== PREDICTED)) {
      return bad(
        `unknown output ${JSON.stringify(isObject(output) ? output.name : output)}: ` +
          `the outputs are "${model.output}" and "${PREDICTED}"`,
      );
    }
    const p = isObject(output.parameters) ? output.parameters : {};
    outputs.push({ name: output.name, binary: p.binary_data === true || allBinary });
  }
  return outputs;
}

/** An encoded response: its body and the headers it needs. */
export interface EncodedResponse {
  body: Uint8Array;
  headers: Record<string, string>;
}

/** Encodes the inference response, JSON or (when an output is binary) JSON plus binary data. */
export function encodeInferResponse(
  request: InferRequest,
  answers: DigitAnswer[],
  model: ModelInfo,
): EncodedResponse {
  const n = answers.length;
  const chunks: Uint8Array[] = [];
  const outputs = request.outputs.map(({ name, binary }) => {
    let data: Float32Array | Int32Array;
    let shape: number[];
    let datatype: string;
    if (name === PREDICTED) {
      data = Int32Array.from(answers, (a) => a.predicted);
      shape = [n];
      datatype = "INT32";
    } else {
      data = new Float32Array(n * CLASSES);
      answers.forEach((a, i) => data.set(a.scores, i * CLASSES));
      shape = [n, CLASSES];
      datatype = "FP32";
    }
    if (!binary) return { name, datatype, shape, data: Array.from(data) };
    // Little-endian, as the extension says: typed arrays are in the machine's order, so write explicitly.
    const bytes = new Uint8Array(data.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < data.length; i++) {
      if (data instanceof Float32Array) view.setFloat32(i * 4, data[i], true);
      else view.setInt32(i * 4, data[i], true);
    }
    chunks.push(bytes);
    return { name, datatype, shape, parameters: { binary_data_size: bytes.length } };
  });
  const document: Json = { model_name: model.name, model_version: model.version };
  if (request.id !== undefined) document.id = request.id;
  document.outputs = outputs;
  const json = new TextEncoder().encode(JSON.stringify(document));
  if (chunks.length === 0) {
    return { body: json, headers: { "content-type": "application/json" } };
  }
  const size = chunks.reduce((sum, c) => sum + c.length, json.length);
  const body = new Uint8Array(size);
  body.set(json);
  let at = json.length;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  return {
    body,
    headers: {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(json.length),
    },
  };
}
