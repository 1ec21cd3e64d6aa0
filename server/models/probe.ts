/**
 * The repository's default shape check: a real engine worker loads the
 * model (onnxruntime checks 784 inputs and 10 outputs per sample there, in
 * `server/engine/worker.ts`), runs one digit and stops. Its own file so the
 * scanning does not depend on the engine's module.
 *
 * @example
 * ```ts
 * import { engineProbe } from "./probe.ts";
 *
 * await engineProbe(await Deno.readFile("models/mnist/1/model.onnx")); // throws when it cannot serve
 * ```
 * @module
 */
import { InferenceEngine } from "../engine/engine.ts";

/**
 * The default probe: a real engine worker loads the model (onnxruntime checks
 * the 784 → 10 shapes there), runs one digit and stops.
 */
export async function engineProbe(bytes: Uint8Array): Promise<void> {
  const engine = await InferenceEngine.start(bytes, { threads: 1, maxBatch: 1 });
  try {
    await engine.run(new Float32Array(784), 1);
  } finally {
    engine.close();
  }
}
