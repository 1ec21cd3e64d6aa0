/**
 * The engines the server can run, and the worker module of each: `wasm`
 * (onnxruntime-web, the default: no native code, nothing to install) and
 * `native` (onnxruntime-node, several times faster per digit; needs
 * `deno task install:native` once and `--allow-ffi`).
 *
 * @example
 * ```ts
 * import { ENGINE_KINDS } from "../config_spec.ts";
 * import { engineRuntimeModule, engineWorkerUrl } from "./kinds.ts";
 *
 * console.log(ENGINE_KINDS, engineWorkerUrl("native"));
 * console.log(await engineRuntimeModule("native")); // undefined: nothing to share
 * ```
 * @module
 */
import type { EngineKind } from "../config_spec.ts";
import { compiledOrtWasm } from "./ort_wasm.ts";

/** The worker module that serves runs for an engine kind. */
export function engineWorkerUrl(kind: EngineKind): string {
  return kind === "native"
    ? new URL("./native/worker.ts", import.meta.url).href
    : new URL("./worker.ts", import.meta.url).href;
}

/**
 * What the main thread compiles once for every worker of a kind: WASM's
 * onnxruntime module (each worker compiling its own cost about 100 MB a
 * worker); native has nothing to share.
 */
export function engineRuntimeModule(kind: EngineKind): Promise<WebAssembly.Module | undefined> {
  return kind === "wasm" ? compiledOrtWasm() : Promise.resolve(undefined);
}
