/**
 * The engines the server can run, and the worker module of each: `wasm`
 * (onnxruntime-web, the default: no native code, nothing to install) and
 * `native` (onnxruntime-node, several times faster per digit; needs
 * `deno task install:native` once and `--allow-ffi`).
 *
 * @example
 * ```ts
 * import { ENGINE_KINDS, engineWorkerUrl } from "./kinds.ts";
 *
 * console.log(ENGINE_KINDS, engineWorkerUrl("native"));
 * ```
 * @module
 */

/** The engine kinds, default first. */
export const ENGINE_KINDS = ["wasm", "native"] as const;
export type EngineKind = typeof ENGINE_KINDS[number];

/** The worker module that serves runs for an engine kind. */
export function engineWorkerUrl(kind: EngineKind): string {
  return kind === "native"
    ? new URL("./native/worker.ts", import.meta.url).href
    : new URL("./worker.ts", import.meta.url).href;
}
