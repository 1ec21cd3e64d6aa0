/**
 * A stand-in engine worker for supervision tests: the real serve loop
 * (`server/engine/serve.ts`) around a session that computes nothing, so a
 * test can make it hang or die on cue, which onnxruntime cannot be made to do
 * at will. A run's first pixel picks what happens: 0.5 hangs (a busy loop),
 * 0.75 throws outside any handler (the worker dies); anything else answers
 * digit 7. A model whose first byte is 1 never finishes loading; a model
 * that holds the text `stuck on ink` never answers a run with any ink in it
 * (a candidate that is stuck; blank warm-up runs still answer).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { InferenceSession, Tensor } from "onnxruntime-web";
import { serveEngine } from "../engine/serve.ts";

const SEVEN = [0, 0, 0, 0, 0, 0, 0, 1, 0, 0];

serveEngine((model) => {
  if (model[0] === 1) return new Promise(() => {}); // never answers the load
  const stuckOnInk = new TextDecoder().decode(model).includes("stuck on ink");
  const session = {
    inputNames: ["input"],
    outputNames: ["probabilities"],
    inputMetadata: [{ isTensor: true, shape: ["batch", 1, 28, 28] }],
    outputMetadata: [{ isTensor: true, shape: ["batch", 10] }],
    run(feeds: Record<string, { data: Float32Array; dims: number[] }>) {
      const { data, dims } = feeds.input;
      if (data[0] === 0.5) { for (;;) { /* hang */ } }
      if (stuckOnInk && data.some((v) => v > 0)) return new Promise(() => {});
      if (data[0] === 0.75) {
        setTimeout(() => {
          throw new Error("scripted death");
        });
        return new Promise(() => {});
      }
      const out = new Float32Array(dims[0] * 10);
      for (let i = 0; i < dims[0]; i++) out.set(SEVEN, i * 10);
      return Promise.resolve({ probabilities: { data: out, dispose() {} } });
    },
    release: () => Promise.resolve(),
  };
  return Promise.resolve({
    session: session as unknown as InferenceSession,
    tensor: (data: Float32Array, dims: number[]) => ({ data, dims }) as unknown as Tensor,
    runtime: "scripted test worker",
  });
});
