/**
 * The native engine's worker: onnxruntime-node (the C++ runtime through
 * Node-API) behind the same serve loop as the WASM worker (`../serve.ts`).
 *
 * onnxruntime-node lives in this folder's own `node_modules`, installed by
 * `deno task install:native` from this folder's `deno.json` and `deno.lock`,
 * and is loaded with `require` from here. It is not in the server's import
 * map or lock, so `deno task serve` with the WASM engine never downloads it
 * (its package carries binaries for five platforms, about 290 MB).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { createRequire } from "node:module";
import type * as ortTypes from "onnxruntime-web";
import { serveEngine } from "../serve.ts";

/** What the server says when the package is missing. */
export const NATIVE_NOT_INSTALLED =
  "the native engine needs onnxruntime-node, which is not installed: run 'deno task install:native' " +
  "(about 290 MB, no CUDA), or use --engine wasm";

function loadRuntime(): typeof ortTypes {
  const require = createRequire(new URL("./deno.json", import.meta.url));
  try {
    return require("onnxruntime-node");
  } catch (e) {
    const message = (e as Error).message;
    if (/Cannot find module|not found/i.test(message)) {
      throw new Error(NATIVE_NOT_INSTALLED);
    }
    if (/--allow-ffi/.test(message)) {
      throw new Error(
        "the native engine loads onnxruntime-node's native library, which Deno allows only with " +
          "--allow-ffi: run 'deno task serve:native', or add --allow-ffi",
      );
    }
    throw new Error(`onnxruntime-node did not load: ${message}`);
  }
}

serveEngine(async (model, threads) => {
  const ort = loadRuntime();
  const session = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    // onnxruntime's pool threads spin after each run waiting for the next; on cores the event
    // loop shares, that spinning takes the time the event loop needs to feed them.
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  } as ortTypes.InferenceSession.SessionOptions);
  // Node-API wants the tensor's own memory: copy each run's input out of the shared buffer.
  let scratch = new Float32Array(0);
  return {
    session,
    tensor: (data, dims) => {
      if (scratch.length < data.length) scratch = new Float32Array(data.length);
      const copy = scratch.subarray(0, data.length);
      copy.set(data);
      return new ort.Tensor("float32", copy, dims);
    },
    runtime: `onnxruntime-node ${ort.env.versions.node ?? "?"} (native CPU, ${threads} thread${
      threads === 1 ? "" : "s"
    })`,
  };
});
