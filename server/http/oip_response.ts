/**
 * Writes an Open Inference Protocol inference response: each requested
 * output as JSON `data` or, with the binary tensor data extension, as
 * little-endian bytes after the JSON (`binary_data_size` per output,
 * `Inference-Header-Content-Length` for the JSON's length). An output asked
 * for with `"classification": K` becomes Triton's classification tensor:
 * BYTES, shape `[N, min(K, values per digit)]`, each element
 * `"<value>:<index>"` for the K highest values, highest first, the value as
 * C's `%f` writes it (Triton formats it with `std::to_string`). A BYTES
 * element in binary is a 4-byte little-endian length and then its bytes.
 *
 * @example
 * ```ts
 * import { encodeInferResponse } from "./oip_response.ts";
 *
 * const model = {
 *   name: "mnist", version: "1", platform: "onnxruntime_onnx", input: "input",
 *   output: "probabilities", inputDims: [-1, 1, 28, 28], maxBatch: 128,
 *   runtime: "onnxruntime-web", instances: 1,
 * };
 * const scores = Float32Array.from([0, 0.5, 0, 0, 0, 0, 0, 0.25, 0.25, 0]);
 * const request = {
 *   id: "a", n: 1, u8: null, f32: null,
 *   outputs: [{ name: "probabilities", binary: false, classes: 2 }],
 * };
 * const reply = encodeInferResponse(request, [{ scores, predicted: 1 }], model);
 * console.log(new TextDecoder().decode(reply.body)); // ..."data":["0.500000:1","0.250000:7"]...
 * ```
 * @module
 */
import { type ModelInfo, outputsOf, PREDICTED } from "./oip_model.ts";
import type { InferRequest } from "./oip_request.ts";

/** One digit's answer. */
export interface DigitAnswer {
  scores: ArrayLike<number>;
  predicted: number;
}

/** An encoded response: its body and the headers it needs. */
export interface EncodedResponse {
  body: Uint8Array;
  headers: Record<string, string>;
}

type Json = Record<string, unknown>;

const TEN_TO_SIX = 1_000_000n;

/**
 * A number as C's `printf("%f")` writes it: six decimals, rounded from the
 * exact binary value with ties to even (`toFixed` rounds ties up, so 1/128
 * would read 0.007813 where C writes 0.007812).
 */
export function printfFixed(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  const sign = value < 0 || Object.is(value, -0) ? "-" : "";
  // The exact value is mantissa × 2^exponent.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(value));
  const high = view.getUint32(0);
  const biased = high >>> 20;
  let mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  if (biased !== 0) mantissa |= 1n << 52n;
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  const scaled = mantissa * TEN_TO_SIX;
  let millionths: bigint;
  if (exponent >= 0) millionths = scaled << BigInt(exponent);
  else {
    const shift = BigInt(-exponent);
    millionths = scaled >> shift;
    const rest = scaled - (millionths << shift);
    const half = 1n << (shift - 1n);
    if (rest > half || (rest === half && (millionths & 1n) === 1n)) millionths += 1n;
  }
  const digits = millionths.toString().padStart(7, "0");
  return `${sign}${digits.slice(0, -6)}.${digits.slice(-6)}`;
}

/** The `k` highest of `row` as `"value:index"`, highest first; ties keep index order. */
function topClasses(row: ArrayLike<number>, k: number, format: (v: number) => string): string[] {
  const order = Array.from({ length: row.length }, (_, i) => i);
  order.sort((i, j) => (row[j] - row[i]) || (i - j));
  return order.slice(0, k).map((i) => `${format(row[i])}:${i}`);
}

/** One output's tensor: JSON data or the bytes to append, with its datatype and shape. */
interface OutputTensorData {
  datatype: string;
  shape: number[];
  json: (number | string)[];
  bytes: () => Uint8Array;
}

function rawTensor(
  datatype: "FP32" | "INT32",
  shape: number[],
  data: Float32Array | Int32Array,
): OutputTensorData {
  return {
    datatype,
    shape,
    json: Array.from(data),
    bytes: () => {
      // Little-endian, as the extension says: typed arrays are in the machine's order.
      const bytes = new Uint8Array(data.length * 4);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < data.length; i++) {
        if (data instanceof Float32Array) view.setFloat32(i * 4, data[i], true);
        else view.setInt32(i * 4, data[i], true);
      }
      return bytes;
    },
  };
}

/** Top classes per digit, `k` of them each. */
function classificationTensor(strings: string[][], k: number): OutputTensorData {
  const flat = strings.flat();
  return {
    datatype: "BYTES",
    shape: [strings.length, k],
    json: flat,
    bytes: () => {
      const encoded = flat.map((s) => new TextEncoder().encode(s));
      const bytes = new Uint8Array(encoded.reduce((sum, e) => sum + 4 + e.length, 0));
      const view = new DataView(bytes.buffer);
      let at = 0;
      for (const e of encoded) {
        view.setUint32(at, e.length, true);
        bytes.set(e, at + 4);
        at += 4 + e.length;
      }
      return bytes;
    },
  };
}

/** The headers of a JSON answer (shared: never changed). */
export const JSON_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json",
};

/**
 * The common reply, every output as plain JSON numbers, written as one
 * string: the same bytes `JSON.stringify` writes for the document the general
 * path builds, without building it. Null when an output is binary or a
 * classification, or a score is not finite (JSON writes those as null).
 */
export function inferResponseText(
  request: InferRequest,
  answers: DigitAnswer[],
  model: ModelInfo,
): string | null {
  const n = answers.length;
  let text = `{"model_name":${JSON.stringify(model.name)},"model_version":${
    JSON.stringify(model.version)
  }`;
  if (request.id !== undefined) text += `,"id":${JSON.stringify(request.id)}`;
  text += `,"outputs":[`;
  const tensors = outputsOf(model);
  for (let o = 0; o < request.outputs.length; o++) {
    const { name, binary, classes } = request.outputs[o];
    if (binary || classes > 0) return null;
    const isPredicted = name === PREDICTED;
    const tensor = tensors.find((t) => t.name === name) ??
      tensors.find((t) => (t.name === PREDICTED) === isPredicted)!;
    let data = "";
    for (let i = 0; i < n; i++) {
      // As the general path's typed arrays hold them: INT32 and FP32.
      if (isPredicted) data += (i ? "," : "") + (answers[i].predicted | 0);
      else {
        const scores = answers[i].scores;
        for (let k = 0; k < tensor.perDigit!; k++) {
          const v = Math.fround(scores[k]);
          if (!Number.isFinite(v)) return null;
          data += (i || k ? "," : "") + v;
        }
      }
    }
    text += `${o ? "," : ""}{"name":${JSON.stringify(name)},"datatype":"${
      isPredicted ? "INT32" : "FP32"
    }","shape":[${isPredicted ? n : `${n},${tensor.perDigit}`}],"data":[${data}]}`;
  }
  return text + "]}";
}

const encoder = new TextEncoder();

/** Encodes the inference response, JSON or (when an output is binary) JSON plus binary data. */
export function encodeInferResponse(
  request: InferRequest,
  answers: DigitAnswer[],
  model: ModelInfo,
): EncodedResponse {
  const plain = inferResponseText(request, answers, model);
  if (plain !== null) return { body: encoder.encode(plain), headers: JSON_HEADERS };
  return encodeGeneralResponse(request, answers, model);
}

/**
 * The response `inferResponseText` does not write (a binary output, a
 * classification, a score that is not finite), from the document itself.
 */
export function encodeGeneralResponse(
  request: InferRequest,
  answers: DigitAnswer[],
  model: ModelInfo,
): EncodedResponse {
  const n = answers.length;
  const chunks: Uint8Array[] = [];
  const tensors = outputsOf(model);
  const outputs = request.outputs.map(({ name, binary, classes }) => {
    const isPredicted = name === PREDICTED;
    // Any name but PREDICTED is the model's own output, even if the request was read against
    // another version's description.
    const tensor = tensors.find((t) => t.name === name) ??
      tensors.find((t) => (t.name === PREDICTED) === isPredicted)!;
    const rows: ArrayLike<number>[] = answers.map((a) => isPredicted ? [a.predicted] : a.scores);
    let data: OutputTensorData;
    if (classes > 0) {
      const format = tensor.datatype === "FP32"
        ? (v: number) => printfFixed(Math.fround(v))
        : (v: number) => String(v);
      const k = Math.min(classes, tensor.perDigit ?? 1);
      data = classificationTensor(rows.map((row) => topClasses(row, k, format)), k);
    } else if (isPredicted) {
      data = rawTensor("INT32", [n], Int32Array.from(answers, (a) => a.predicted));
    } else {
      const per = tensor.perDigit!;
      const values = new Float32Array(n * per);
      answers.forEach((a, i) => values.set(a.scores, i * per));
      data = rawTensor("FP32", [n, per], values);
    }
    const { datatype, shape } = data;
    if (!binary) return { name, datatype, shape, data: data.json };
    const bytes = data.bytes();
    chunks.push(bytes);
    return { name, datatype, shape, parameters: { binary_data_size: bytes.length } };
  });
  const document: Json = { model_name: model.name, model_version: model.version };
  if (request.id !== undefined) document.id = request.id;
  document.outputs = outputs;
  const json = encoder.encode(JSON.stringify(document));
  if (chunks.length === 0) return { body: json, headers: JSON_HEADERS };
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
