/**
 * A model as the HTTP port describes it (`ModelInfo`), for the tests of the
 * Open Inference Protocol's codec: the served CNN's shape, with what a test
 * needs changed.
 *
 * @example
 * ```ts
 * import { testModelInfo } from "./model_info.ts";
 *
 * console.log(testModelInfo({ maxBatch: 8 }).maxBatch); // 8
 * ```
 * @module
 */
import type { ModelInfo } from "../http/oip_model.ts";

/** The CNN's `ModelInfo` (version 1, batches up to 128, one instance), with `changes` applied. */
export function testModelInfo(changes: Partial<ModelInfo> = {}): ModelInfo {
  return {
    name: "mnist",
    version: "1",
    platform: "onnxruntime_onnx",
    input: "input",
    output: "probabilities",
    inputDims: [-1, 1, 28, 28],
    maxBatch: 128,
    runtime: "onnxruntime-web",
    instances: 1,
    ...changes,
  };
}
