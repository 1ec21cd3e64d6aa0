/**
 * Makes the server immune to onnxruntime-web's thread start-up hang, and
 * refuses a configuration too slow for the run watchdog, before any load.
 *
 * The hang: with 2+ WASM threads, a fresh process sometimes never finishes
 * its first full batch (2-3% of starts at 2 threads, 20-30% at 8 on a
 * 2-core machine). The engine worker then spins at 100% CPU, and one of the
 * pthread Workers that onnxruntime's Emscripten build started (through
 * `node:worker_threads`, since Deno looks like Node to it) has no OS thread
 * any more, although it had reported "loaded": onnxruntime's thread pool
 * waits for a thread that will never run. It happens only at start (no hang
 * after a good warm-up in 200 starts under immediate load), and a fresh
 * start is not affected by the last one.
 *
 * So `startWarmed` warms every start (1 digit, then a full batch) under a
 * warm-up deadline rather than the run watchdog, closes a start whose
 * warm-up hangs and starts afresh, up to 5 times, then refuses with a
 * sentence. `verifyEngine` then times full batches: a steady state slower
 * than half the run watchdog is refused with a sentence saying what was
 * measured and what to do, instead of failing request after request by the
 * watchdog.
 *
 * @example
 * ```ts
 * import { InferenceEngine } from "./engine.ts";
 * import { startWarmed, verifyEngine } from "./verify.ts";
 * import { DEFAULT_MODEL, loadModelFile } from "../models/model.ts";
 *
 * const { bytes } = await loadModelFile(DEFAULT_MODEL, { verifyChecksum: true });
 * const engine = await startWarmed(() => InferenceEngine.start(bytes, { threads: 2 }), {
 *   runTimeoutMs: 10_000,
 *   threads: 2,
 *   onRetry: (attempt, reason) => console.log(`start ${attempt} hung (${reason}); starting afresh`),
 * });
 * const { fullBatchMs } = await verifyEngine(engine, { runTimeoutMs: 10_000, threads: 2 });
 * console.log(fullBatchMs); // the median full batch, in ms
 * engine.close();
 * ```
 * @module
 */
import { EngineError } from "./engine.ts";

/** The part of an engine this check uses. */
export interface RunsBatches {
  readonly maxBatch: number;
  run(input: Float32Array, n: number): Promise<{ ms: number }>;
}

/** Options of `verifyEngine`. */
export interface VerifyOptions {
  /** The run watchdog's limit the server will use, in ms. */
  runTimeoutMs: number;
  /** Threads per instance, named in the refusal. */
  threads: number;
  /** Full batches timed (default 3); the median counts. */
  rounds?: number;
  /** The share of `runTimeoutMs` a full batch may take (default 0.5: room for a busy machine). */
  budget?: number;
  /** Cores of this machine, named in the refusal (default: `navigator.hardwareConcurrency`). */
  cores?: number;
}

/**
 * Times `rounds` full batches; throws an `EngineError` with a sentence when
 * their median takes more than `budget` × `runTimeoutMs`.
 */
export async function verifyEngine(
  engine: RunsBatches,
  options: VerifyOptions,
): Promise<{ fullBatchMs: number }> {
  const rounds = options.rounds ?? 3;
  const budget = options.budget ?? 0.5;
  const full = engine.maxBatch;
  const input = new Float32Array(784 * full);
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await engine.run(input, full);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const fullBatchMs = times[Math.floor(times.length / 2)];
  const limit = budget * options.runTimeoutMs;
  if (fullBatchMs > limit) {
    const cores = options.cores ?? navigator.hardwareConcurrency;
    throw new EngineError(
      `a full batch of ${full} digits takes ${
        Math.round(fullBatchMs)
      } ms with ${options.threads} ` +
        `thread${options.threads === 1 ? "" : "s"} on this ${cores}-core machine, more than ` +
        `${Math.round(limit)} ms (half the ${options.runTimeoutMs} ms a run may take before its ` +
        `worker is taken for hung): use fewer threads${
          options.threads > cores ? ` (at most ${cores}, one per core)` : ""
        }, a smaller --max-batch, or a longer run timeout`,
    );
  }
  return { fullBatchMs };
}

/** An engine `startWarmed` can warm, verify and give up on. */
export interface StartableEngine extends RunsBatches {
  close(): void;
}

/** Options of `startWarmed`. */
export interface StartOptions extends VerifyOptions {
  /** Fresh starts tried before giving up (default 5). */
  attempts?: number;
  /** Hears why an attempt was given up. */
  onRetry?: (attempt: number, reason: string) => void;
}

/** What the engine says when its watchdog took a run for hung. */
const HUNG = /took over \d+ ms|made no progress for \d+ ms/;

/**
 * Starts an engine with `start` (which runs warm-up runs under a deadline of
 * its own, or leaves them to this), warms it (1 digit, then a full batch) and
 * verifies it (`verifyEngine`). A start whose warm-up hangs, which
 * onnxruntime-web's threads sometimes do in a fresh process, is closed and
 * tried again from scratch, up to `attempts` times; then the start is
 * refused with a sentence. A configuration that is merely too slow is
 * refused at once.
 */
export async function startWarmed<E extends StartableEngine>(
  start: (attempt: number) => Promise<E>,
  options: StartOptions,
): Promise<E> {
  const attempts = options.attempts ?? 5;
  let last = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let engine: E | null = null;
    try {
      engine = await start(attempt);
      await engine.run(new Float32Array(784), 1);
      await engine.run(new Float32Array(784 * engine.maxBatch), engine.maxBatch);
      await verifyEngine(engine, options);
      return engine;
    } catch (e) {
      engine?.close();
      last = (e as Error).message;
      if (!(e instanceof EngineError) || !HUNG.test(last)) throw e;
      options.onRetry?.(attempt, last);
    }
  }
  throw new EngineError(
    `the engine's ${options.threads} thread${options.threads === 1 ? "" : "s"} did not start in ` +
      `${attempts} fresh attempts (its warm-up run never finished: ${last}); ` +
      `use fewer threads (--threads 1 never needs them)`,
  );
}
