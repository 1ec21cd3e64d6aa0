/**
 * For an engine worker: onnxruntime-web's Emscripten loader with one change,
 * it instantiates a `WebAssembly.Module` compiled once by the main thread
 * (`ort_wasm.ts`) instead of reading and compiling the `.wasm` file itself.
 * `useCompiledOrtWasm` points onnxruntime-web at this module
 * (`env.wasm.wasmPaths.mjs`); onnxruntime-web imports it by URL and calls its
 * default export as it would the original's. The hook is Emscripten's
 * documented `instantiateWasm`; without a module given, it loads as the
 * original does. onnxruntime's own threads (`--threads` over 1) are given the
 * same module by Emscripten.
 *
 * @example
 * ```ts
 * import * as ort from "onnxruntime-web";
 * import { useCompiledOrtWasm } from "./ort_glue.ts";
 * import { compiledOrtWasm } from "./ort_wasm.ts";
 *
 * useCompiledOrtWasm(ort.env.wasm, await compiledOrtWasm());
 * ```
 * @module
 */
import type { Env } from "onnxruntime-web";
import createOrtModule from "onnxruntime-web/ort-wasm-simd-threaded.mjs";

let compiled: WebAssembly.Module | null = null;

/** Before the first session: onnxruntime-web instantiates `module` instead of compiling its own. */
export function useCompiledOrtWasm(wasm: Env.WebAssemblyFlags, module: WebAssembly.Module): void {
  compiled = module;
  wasm.wasmPaths = { mjs: new URL(import.meta.url) };
}

/** Emscripten's callback: the instance and the module it came from. */
type Receive = (instance: WebAssembly.Instance, module: WebAssembly.Module) => void;

/** The Emscripten factory onnxruntime-web calls: the original's, given `instantiateWasm` when a module was set. */
export default function createModule(moduleArg: Record<string, unknown>): Promise<unknown> {
  const module = compiled;
  if (!module) return createOrtModule(moduleArg);
  return createOrtModule({
    ...moduleArg,
    instantiateWasm(imports: WebAssembly.Imports, receive: Receive) {
      // A failure is left unhandled: it ends the worker, and the engine reports why.
      WebAssembly.instantiate(module, imports).then((instance) => receive(instance, module));
      return {};
    },
  });
}
