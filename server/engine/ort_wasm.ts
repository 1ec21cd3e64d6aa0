/**
 * onnxruntime-web's WebAssembly module, compiled once per process and shared
 * by every WASM engine worker. Without it each worker reads the 14 MB module
 * and compiles it itself; V8's compiler scratch memory lands in the worker
 * thread's own allocator arena and stays there, which made each added
 * instance cost about 100 MB (docs/performance.md). A compiled
 * `WebAssembly.Module` posted to a Worker is the same code, not a copy.
 *
 * The engine (main thread) calls `compiledOrtWasm()` and posts the module
 * with the load message; the worker hands it to `useCompiledOrtWasm`
 * (`ort_glue.ts`).
 *
 * `ENGINE_V8_FLAGS` is what every launcher of the server passes to Deno
 * (`deno task serve`, `vendor/serve`, the systemd unit, the benches): V8
 * reads its flags once, at start, so the server cannot set them itself.
 *
 * @example
 * ```ts
 * import { compiledOrtWasm } from "./ort_wasm.ts";
 *
 * const module = await compiledOrtWasm();
 * console.log(module === await compiledOrtWasm()); // true: compiled once
 * ```
 * @module
 */

/** The module onnxruntime-web's Node/Deno build loads (its SIMD, threaded build). */
const WASM_SPECIFIER = "onnxruntime-web/ort-wasm-simd-threaded.wasm";

/**
 * V8 moves a WebAssembly function to its optimizing compiler once it has run
 * "this many bytes". At V8's default (13,000,000) the once-per-session code
 * (the model's parsing and graph optimization) crosses it in every worker,
 * and from the third instance on each worker's optimizing compiles left
 * about 150 MB more resident; at 26,000,000 or more they do not, while the
 * kernels a run spends its time in still cross it within the first batches
 * (`deno task bench:memory`, docs/performance.md).
 */
export const ENGINE_V8_FLAGS = ["--wasm-tiering-budget=40000000"] as const;

/** `ENGINE_V8_FLAGS` as one Deno argument. */
export const ENGINE_V8_FLAGS_ARG = `--v8-flags=${ENGINE_V8_FLAGS.join(",")}`;

let compiled: Promise<WebAssembly.Module> | null = null;

/** onnxruntime-web's WebAssembly module, compiled on the first call and shared after. */
export function compiledOrtWasm(): Promise<WebAssembly.Module> {
  compiled ??= (async () => {
    const bytes = await Deno.readFile(new URL(import.meta.resolve(WASM_SPECIFIER)));
    return await WebAssembly.compile(bytes);
  })();
  // A failed compile is not kept: the next engine start tries again.
  compiled.catch(() => compiled = null);
  return compiled;
}
