/**
 * Starting K engine instances of one model at once, all warmed, or none.
 *
 * @example
 * ```ts ignore
 * import { startEngines } from "./instances.ts";
 *
 * const engines = await startEngines(modelBytes, 2, { threads: 1, maxBatch: 128 });
 * ```
 * @module
 */
import { InferenceEngine } from "./engine.ts";

/** Starts `count` warmed instances of `model`; if one fails, the others are closed. */
export async function startEngines(
  model: Uint8Array,
  count: number,
  options: Parameters<typeof InferenceEngine.start>[1],
): Promise<InferenceEngine[]> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => InferenceEngine.start(model, options)),
  );
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    for (const s of started) if (s.status === "fulfilled") s.value.close();
    throw (failed as PromiseRejectedResult).reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<InferenceEngine>).value);
}
