/**
 * Starting K engine instances of one model at once, all warmed and verified,
 * or none. Each start's warm-up runs under a longer deadline than the run
 * watchdog; a start whose warm-up hangs (onnxruntime-web's thread start-up,
 * see `verify.ts`) is closed and started afresh, and a configuration too
 * slow for the watchdog is refused with a sentence.
 *
 * The first instance starts alone, the others together once it has warmed:
 * WASM workers share one compiled module (`ort_wasm.ts`), whose functions V8
 * compiles on first use; the first instance's warm-up compiles what a run
 * uses, once, for all. Started at once, every worker compiled the same
 * functions itself and kept the compiler's scratch memory in its thread's
 * allocator arena (4 instances: 388 MB idle instead of 306).
 *
 * @example
 * ```ts
 * import { startEngines } from "./instances.ts";
 * import { DEFAULT_MODEL, loadModelFile } from "../models/model.ts";
 *
 * const model = await loadModelFile(DEFAULT_MODEL, { verifyChecksum: true });
 * const engines = await startEngines(model.bytes, 2, { threads: 1, maxBatch: 128 });
 * const { scores } = await engines[1].run(new Float32Array(784), 1);
 * console.log(engines.length, scores.length); // 2 10
 * for (const engine of engines) engine.close();
 * ```
 * @module
 */
import { serverDefaults } from "../config.ts";
import { type EngineOptions, InferenceEngine } from "./engine.ts";
import { startWarmed } from "./verify.ts";

/**
 * How long one warm-up run may take before it is taken for hung and the
 * instance is started afresh: first full batches with 2+ WASM threads can take
 * over a second on a busy machine, and a hung one never finishes.
 */
export const WARMUP_TIMEOUT_MS = 10_000;

/** Starts `count` warmed instances of `model`; if one fails, the others are closed. */
export async function startEngines(
  model: Uint8Array,
  count: number,
  options: EngineOptions & { onWarmupRetry?: (attempt: number, reason: string) => void } = {},
): Promise<InferenceEngine[]> {
  const defaults = serverDefaults();
  const runTimeoutMs = options.runTimeoutMs ?? defaults.runTimeoutMs;
  const startOne = () =>
    startWarmed(
      () =>
        InferenceEngine.start(model, {
          ...options,
          runTimeoutMs: Math.max(runTimeoutMs, WARMUP_TIMEOUT_MS),
        }),
      {
        runTimeoutMs,
        threads: options.threads ?? defaults.threads,
        onRetry: options.onWarmupRetry,
      },
    ).then((engine) => {
      engine.runTimeoutMs = runTimeoutMs;
      return engine;
    });
  // One first, alone: see the module comment.
  const first = await Promise.allSettled([startOne()]);
  const started = first[0].status === "rejected" ? first : [
    ...first,
    ...await Promise.allSettled(Array.from({ length: count - 1 }, startOne)),
  ];
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    for (const s of started) if (s.status === "fulfilled") s.value.close();
    throw (failed as PromiseRejectedResult).reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<InferenceEngine>).value);
}
