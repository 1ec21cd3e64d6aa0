/**
 * The Open Inference Protocol (KServe v2) as Triton serves it, for every
 * served model: what a model is to the protocol (`oip_model.ts`: metadata,
 * configuration, the extensions listed at `GET /v2`), the inference request
 * (`oip_request.ts`) and its response (`oip_response.ts`), in JSON or with the binary tensor data and
 * classification extensions. Pure functions: no I/O.
 *
 * @example
 * ```ts
 * import { encodeInferResponse, parseInferRequest } from "./oip.ts";
 * import { WireError } from "../../shared/errors.ts";
 *
 * const model = {
 *   name: "mnist", version: "1", platform: "onnxruntime_onnx", input: "input",
 *   output: "probabilities", inputDims: [-1, 1, 28, 28], maxBatch: 128,
 *   runtime: "onnxruntime-web", instances: 1,
 * };
 * const body = new TextEncoder().encode(JSON.stringify({
 *   id: "a", inputs: [{ name: "input", datatype: "UINT8", shape: [1, 784], data: new Array(784).fill(0) }],
 * }));
 * const request = parseInferRequest(body, null, model);
 * if (!(request instanceof WireError)) {
 *   const scores = new Float32Array(10).fill(0.1);
 *   const reply = encodeInferResponse(request, [{ scores, predicted: 0 }], model);
 *   console.log(reply.headers, reply.body.length); // both outputs, "probabilities" and "predicted"
 * }
 * ```
 * @module
 */
export {
  modelConfig,
  type ModelInfo,
  modelMetadata,
  OIP_EXTENSIONS,
  outputsOf,
  type OutputTensor,
  PREDICTED,
} from "./oip_model.ts";
export {
  digitsInShape,
  type InferRequest,
  parseInferRequest,
  type RequestedOutput,
} from "./oip_request.ts";
export { splitBody } from "./oip_request_body.ts";
export {
  type DigitAnswer,
  type EncodedResponse,
  encodeInferResponse,
  printfFixed,
} from "./oip_response.ts";
