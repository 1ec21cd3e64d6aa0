/**
 * The WASM engine's worker: owns the onnxruntime-web session, so a running
 * inference never holds the event loop that reads sockets. The serve loop
 * (load on message, runs through the shared channel) is `serve.ts`; this
 * file only opens the session.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import * as ort from "onnxruntime-web";
import { serveEngine } from "./serve.ts";
import { useCompiledOrtWasm } from "./ort_glue.ts";

serveEngine(async (model, threads, runtimeModule) => {
  ort.env.wasm.numThreads = threads;
  if (runtimeModule) useCompiledOrtWasm(ort.env.wasm, runtimeModule);
  ort.env.logLevel = "error";
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  return {
    session,
    // onnxruntime-web copies the tensor into WASM memory, so a view of shared memory is fine.
    tensor: (data, dims) => new ort.Tensor("float32", data, dims),
    runtime: `onnxruntime-web ${ort.env.versions.web} (wasm, ${threads} thread${
      threads === 1 ? "" : "s"
    })`,
  };
});
