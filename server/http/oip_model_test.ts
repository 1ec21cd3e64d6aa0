// What the protocol says of a model, checked against Triton's documents: the model configuration
// extension (instance_group counts the instances that run), the server metadata's extensions, and
// the model metadata's outputs.
import assert from "node:assert/strict";
import { modelConfig, modelMetadata, OIP_EXTENSIONS } from "./oip_model.ts";
import { testModelInfo } from "../testing/model_info.ts";

const model = testModelInfo({ version: "2", maxBatch: 64, instances: 3 });

Deno.test("config: instance_group counts the engine instances that run", () => {
  const config = modelConfig(model);
  assert.deepEqual(config.instance_group, [{ name: "mnist", kind: "KIND_CPU", count: 3 }]);
  assert.equal(config.max_batch_size, 64);
  assert.deepEqual(config.output, [
    { name: "probabilities", data_type: "TYPE_FP32", dims: [10] },
    { name: "predicted", data_type: "TYPE_INT32", dims: [] },
  ]);
  const one = modelConfig({ ...model, instances: 1 });
  assert.deepEqual(one.instance_group, [{ name: "mnist", kind: "KIND_CPU", count: 1 }]);
});

Deno.test("metadata lists every output a request without outputs gets back", () => {
  assert.deepEqual(modelMetadata(model), {
    name: "mnist",
    versions: ["2"],
    platform: "onnxruntime_onnx",
    inputs: [{ name: "input", datatype: "FP32", shape: [-1, 1, 28, 28] }],
    outputs: [
      { name: "probabilities", datatype: "FP32", shape: [-1, 10] },
      { name: "predicted", datatype: "INT32", shape: [-1] },
    ],
  });
});

Deno.test("GET /v2's extensions name each extension served, as Triton spells them", () => {
  assert.deepEqual([...OIP_EXTENSIONS].sort(), [
    "binary_tensor_data",
    "classification",
    "fleet",
    "model_configuration",
    "model_repository",
    "rollouts",
    "statistics",
  ]);
});
