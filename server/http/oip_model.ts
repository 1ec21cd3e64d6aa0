/**
 * What the Open Inference Protocol says of a served model: its outputs, the
 * metadata document (`GET /v2/models/{name}`), Triton's configuration
 * document (`GET /v2/models/{name}/config`, the model configuration
 * extension) and the extensions the server lists at `GET /v2`.
 *
 * A model has its own output (10 scores per digit, FP32) and the server adds
 * `predicted` (INT32, the digit with the highest score); both are "the
 * model's outputs" to a client, so both come back when none is asked for.
 *
 * @example
 * ```ts
 * import { modelConfig, type ModelInfo, OIP_EXTENSIONS } from "./oip_model.ts";
 *
 * const model: ModelInfo = {
 *   name: "mnist", version: "1", platform: "onnxruntime_onnx", input: "input",
 *   output: "probabilities", inputDims: [-1, 1, 28, 28], maxBatch: 128,
 *   runtime: "onnxruntime-web", instances: 2,
 * };
 * console.log(OIP_EXTENSIONS, modelConfig(model).instance_group); // [..., { count: 2, ... }]
 * ```
 * @module
 */
import { CLASSES } from "../../shared/codec.ts";

/** What the HTTP side knows of a served model version. */
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
  /** Engine instances running this version (the config's `instance_group` count). */
  instances: number;
}

/** The server-computed output: the digit with the highest score. */
export const PREDICTED = "predicted";

/**
 * The protocol extensions this server serves, for `GET /v2`'s `extensions`
 * (names as Triton spells them in its server metadata).
 */
export const OIP_EXTENSIONS: readonly string[] = Object.freeze([
  "binary_tensor_data",
  "classification",
  "model_repository",
  "statistics",
  "model_configuration",
  "fleet",
  "rollouts",
]);

/** One output tensor of a model: name, datatype and values per digit. */
export interface OutputTensor {
  name: string;
  datatype: "FP32" | "INT32";
  /** Values per digit: the tensor of N digits is `[N, perDigit]`, or `[N]` when null. */
  perDigit: number | null;
}

/** Every output a model answers with, in the order the protocol returns them. */
export function outputsOf(model: ModelInfo): OutputTensor[] {
  return [
    { name: model.output, datatype: "FP32", perDigit: CLASSES },
    { name: PREDICTED, datatype: "INT32", perDigit: null },
  ];
}

type Json = Record<string, unknown>;

/** The model metadata document (`GET /v2/models/{name}`). */
export function modelMetadata(model: ModelInfo): Json {
  return {
    name: model.name,
    versions: [model.version],
    platform: model.platform,
    inputs: [{ name: model.input, datatype: "FP32", shape: model.inputDims }],
    outputs: outputsOf(model).map((o) => ({
      name: o.name,
      datatype: o.datatype,
      shape: o.perDigit === null ? [-1] : [-1, o.perDigit],
    })),
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
    // Dims without the batch dimension, as Triton writes them when max_batch_size > 0.
    output: outputsOf(model).map((o) => ({
      name: o.name,
      data_type: `TYPE_${o.datatype}`,
      dims: o.perDigit === null ? [] : [o.perDigit],
    })),
    // Digits that arrive while a run is going wait for the next, which takes them all at once.
    dynamic_batching: { max_queue_delay_microseconds: 0, preserve_ordering: true },
    instance_group: [{ name: model.name, kind: "KIND_CPU", count: model.instances }],
  };
}
