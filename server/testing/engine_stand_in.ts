/**
 * A stand-in engine worker for tests: the real serve loop
 * (`server/engine/serve.ts`) around a session written as a few lines of
 * JavaScript, so a test can see what the loop asks of a session (its run
 * sizes, when it loads) where onnxruntime would hide it. The session takes
 * `[batch, 784]` and answers `[batch, 10]`.
 *
 * @example
 * ```ts
 * import { InferenceEngine } from "../engine/engine.ts";
 * import { standInWorker } from "./engine_stand_in.ts";
 *
 * // Each digit answers the size of the run it came in.
 * const workerUrl = standInWorker({ run: "out[i * 10] = dims[0];" });
 * const engine = await InferenceEngine.start(new Uint8Array(8), { workerUrl });
 * console.log((await engine.run(new Float32Array(784 * 3), 3)).scores[0]); // 3
 * engine.close();
 * ```
 * @module
 */

const SERVE = new URL("../engine/serve.ts", import.meta.url).href;

/** The JavaScript of a stand-in session, in parts. */
export interface StandIn {
  /** Top-level statements of the worker module (e.g. opening a BroadcastChannel). */
  prelude?: string;
  /** Statements run when the worker is asked to load, before the session exists (may `await`). */
  open?: string;
  /** Statements run for each digit `i` of a run: `data` and `dims` are the input, `out` the output. */
  run: string;
}

/** A module URL for `new Worker`: a worker on the real serve loop around the stand-in session. */
export function standInWorker(standIn: StandIn): string {
  const code = `import { serveEngine } from ${JSON.stringify(SERVE)};
${standIn.prelude ?? ""}
serveEngine(async () => {
  ${standIn.open ?? ""}
  return {
    session: {
      inputNames: ["input"],
      outputNames: ["scores"],
      inputMetadata: [{ isTensor: true, shape: ["batch", 784] }],
      outputMetadata: [{ isTensor: true, shape: ["batch", 10] }],
      run(feeds) {
        const { data, dims } = feeds.input;
        const out = new Float32Array(dims[0] * 10);
        for (let i = 0; i < dims[0]; i++) { ${standIn.run} }
        return Promise.resolve({ scores: { data: out, dispose() {} } });
      },
      release: () => Promise.resolve(),
    },
    tensor: (data, dims) => ({ data, dims }),
    runtime: "stand-in",
  };
});`;
  return URL.createObjectURL(new Blob([code], { type: "application/javascript" }));
}
