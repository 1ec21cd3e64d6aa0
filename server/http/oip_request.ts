/**
 * Reads an Open Inference Protocol inference request, in JSON or with
 * Triton's binary tensor data extension (`Inference-Header-Content-Length`,
 * `binary_data_size`, `binary_data`, `binary_data_output`) and its
 * classification extension (`"classification": K` on a requested output).
 * The body is split into its JSON and binary parts by `oip_request_body.ts`;
 * here the split body is checked against the model. Pure functions: no I/O.
 *
 * Inputs are FP32 (0..1) or UINT8 (0..255), shaped `[N,1,28,28]`,
 * `[N,28,28]` or `[N,784]`, N from 1 to the max batch. Each output of the
 * model may be asked for once; with none asked for, every output comes back.
 *
 * @example
 * ```ts
 * import { parseInferRequest } from "./oip_request.ts";
 *
 * const model = {
 *   name: "mnist", version: "1", platform: "onnxruntime_onnx", input: "input",
 *   output: "probabilities", inputDims: [-1, 1, 28, 28], maxBatch: 128,
 *   runtime: "onnxruntime-web", instances: 1,
 * };
 * const body = new TextEncoder().encode(JSON.stringify({
 *   inputs: [{ name: "input", datatype: "UINT8", shape: [1, 784], data: new Array(784).fill(0) }],
 *   outputs: [{ name: "probabilities", parameters: { classification: 3 } }],
 * }));
 * const request = parseInferRequest(body, null, model);
 * console.log(request); // { n: 1, outputs: [{ name: "probabilities", binary: false, classes: 3 }], ... }
 * ```
 * @module
 */
import { DIGIT_PIXELS } from "../../shared/codec.ts";
import { shown, Status, WireError } from "../../shared/errors.ts";
import { type ModelInfo, outputsOf } from "./oip_model.ts";
import { isObject, type Json, type SplitBody, splitBody } from "./oip_request_body.ts";

/** One output asked for: binary or JSON, and as its top `classes` classifications (0: as it is). */
export interface RequestedOutput {
  name: string;
  binary: boolean;
  classes: number;
}

/** A checked inference request. */
export interface InferRequest {
  id: string | undefined;
  /** Digits in the request. */
  n: number;
  /** n × 784 values: bytes (UINT8) or floats (FP32). */
  u8: Uint8Array | null;
  f32: Float32Array | null;
  /** Outputs to answer with, in order, each at most once. */
  outputs: RequestedOutput[];
}

const bad = (message: string) => new WireError(Status.MALFORMED_BUFFER, message);
const badDigits = (message: string) => new WireError(Status.BAD_DIGIT_LENGTH, message);

/** The digits in a shape `[N,1,28,28]`, `[N,28,28]` or `[N,784]`, or null for any other. */
export function digitsInShape(shape: unknown): number | null {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) return null;
  const [n, ...rest] = shape as number[];
  const tail = rest.join(",");
  return tail === "1,28,28" || tail === "28,28" || tail === "784" ? n : null;
}

/** Reads and checks an inference request. */
export function parseInferRequest(
  body: Uint8Array,
  headerLength: string | null,
  model: ModelInfo,
): InferRequest | WireError {
  const split = splitBody(body, headerLength);
  return split instanceof WireError ? split : checkInferRequest(split, model);
}

/** Checks a split body against the model it asks (`parseInferRequest`'s second half). */
export function checkInferRequest(split: SplitBody, model: ModelInfo): InferRequest | WireError {
  const { json, binary, data: pixels, withHeaderLength } = split;
  const id = json.id;
  if (id !== undefined && typeof id !== "string") return bad(`"id" must be a string`);
  const inputs = json.inputs;
  if (!Array.isArray(inputs) || inputs.length !== 1 || !isObject(inputs[0])) {
    return bad(`"inputs" must hold exactly one input, "${model.input}"`);
  }
  const input = inputs[0];
  if (input.name !== model.input) {
    return bad(
      `unknown input ${shown(input.name)}: the model's input is "${model.input}"`,
    );
  }
  const datatype = input.datatype;
  if (datatype !== "FP32" && datatype !== "UINT8") {
    return bad(`input datatype ${shown(datatype)} is not supported: use FP32 or UINT8`);
  }
  const n = digitsInShape(input.shape);
  if (n === null) {
    return badDigits(
      `input shape ${shown(input.shape)} is not [N,1,28,28], [N,28,28] or [N,784]`,
    );
  }
  if (n < 1 || n > model.maxBatch) {
    return badDigits(`a request carries 1 to ${model.maxBatch} digits, not ${n}`);
  }
  // The outputs are checked before the data is copied: a bad list costs no work.
  const outputs = parseOutputs(json, model);
  if (outputs instanceof WireError) return outputs;
  const values = n * DIGIT_PIXELS;
  const elementSize = datatype === "FP32" ? 4 : 1;
  let u8: Uint8Array | null = null;
  let f32: Float32Array | null = null;
  const params = isObject(input.parameters) ? input.parameters : {};
  if (params.binary_data_size !== undefined) {
    const size = params.binary_data_size;
    if (!withHeaderLength) {
      return bad("binary_data_size needs the Inference-Header-Content-Length header");
    }
    if (size !== binary.length) {
      return bad(
        `binary_data_size is ${shown(size)} but ${binary.length} bytes follow the JSON`,
      );
    }
    if (size !== values * elementSize) {
      return badDigits(
        `shape ${shown(input.shape)} of ${datatype} is ${values * elementSize} bytes, not ${size}`,
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
    if (pixels) {
      if (pixels.length !== values) {
        return badDigits(
          `shape ${shown(input.shape)} needs ${values} values, got ${pixels.length}`,
        );
      }
      return {
        id,
        n,
        u8: datatype === "UINT8" ? pixels : null,
        f32: datatype === "FP32" ? Float32Array.from(pixels) : null,
        outputs,
      };
    }
    // Flat (row-major) or nested arrays; flat ones are used as they are.
    const raw = Array.isArray(input.data) ? input.data : null;
    const data = raw && (raw.length === 0 || !Array.isArray(raw[0])) ? raw : raw?.flat(4);
    if (!data) return bad(`input "${model.input}" has no "data" array`);
    if (data.length !== values) {
      return badDigits(
        `shape ${shown(input.shape)} needs ${values} values, got ${data.length}`,
      );
    }
    if (datatype === "UINT8") {
      u8 = new Uint8Array(values);
      for (let i = 0; i < values; i++) {
        const v = data[i];
        if (!Number.isInteger(v) || v < 0 || v > 255) {
          return bad(`UINT8 value ${shown(v)} at ${i} is not an integer 0..255`);
        }
        u8[i] = v;
      }
    } else {
      f32 = new Float32Array(values);
      for (let i = 0; i < values; i++) {
        const v = data[i];
        if (typeof v !== "number") {
          return bad(`FP32 value ${shown(v)} at ${i} is not a number`);
        }
        f32[i] = v;
      }
    }
  }
  return { id, n, u8, f32, outputs };
}

/** A boolean parameter, or undefined when absent. */
function flag(params: Json, key: string, where: string): boolean | undefined | WireError {
  const v = params[key];
  if (v === undefined || typeof v === "boolean") return v;
  return bad(`"${key}"${where} must be true or false, not ${shown(v)}`);
}

/**
 * The outputs asked for. Each may be named once (a list naming one many
 * times would multiply the reply); none named means every output.
 */
function parseOutputs(json: Json, model: ModelInfo): RequestedOutput[] | WireError {
  if (json.parameters !== undefined && !isObject(json.parameters)) {
    return bad(`the request's "parameters" must be an object`);
  }
  const allBinary = flag(json.parameters ?? {}, "binary_data_output", " of the request");
  if (allBinary instanceof WireError) return allBinary;
  const known = outputsOf(model).map((o) => o.name);
  const asked = json.outputs;
  if (asked === undefined || (Array.isArray(asked) && asked.length === 0)) {
    return known.map((name) => ({ name, binary: allBinary ?? false, classes: 0 }));
  }
  if (!Array.isArray(asked)) return bad(`"outputs" must be an array`);
  const outputs: RequestedOutput[] = [];
  for (const output of asked) {
    const name = isObject(output) ? output.name : undefined;
    if (!isObject(output) || typeof name !== "string" || !known.includes(name)) {
      return bad(
        `unknown output ${shown(isObject(output) ? output.name : output)}: ` +
          `the model's outputs are ${known.map((k) => `"${k}"`).join(" and ")}`,
      );
    }
    if (outputs.some((o) => o.name === name)) {
      return bad(`output "${name}" is asked for more than once: name each output once`);
    }
    const where = ` of output "${name}"`;
    if (output.parameters !== undefined && !isObject(output.parameters)) {
      return bad(`"parameters"${where} must be an object`);
    }
    const params = output.parameters ?? {};
    // An output's own binary_data wins over the request's binary_data_output.
    const binary = flag(params, "binary_data", where);
    if (binary instanceof WireError) return binary;
    const classes = params.classification ?? 0;
    if (!Number.isSafeInteger(classes) || (classes as number) < 0) {
      return bad(
        `"classification"${where} must be a whole number of classes (0 or more), not ${
          shown(classes)
        }`,
      );
    }
    outputs.push({ name, binary: binary ?? allBinary ?? false, classes: classes as number });
  }
  return outputs;
}
