/**
 * Checks, before the server takes any load, that a started engine runs a
 * full batch well within the time a run may take before the watchdog takes
 * its worker for hung. A configuration that cannot (many WASM threads on few
 * cores: `--threads 8` on a 2-core machine) is refused with a sentence that
 * says what was measured and what to do, instead of starting and then
 * failing request after request by the watchdog.
 *
 * Why a check rather than a cure: onnxruntime-web's first full batches with
 * 2+ threads are occasionally far slower than the rest (about 1 start in 100
 * on a busy 2-core machine: 1.2 s where 60-300 ms is usual; its pthreads are
 * Workers that the OS may not schedule while others spin). Under the 2 s
 * run watchdog that looked like a hang. Warm-up therefore runs under the
 * start-up deadline, and only the steady state, measured here after it, is
 * held to the run watchdog.
 *
 * @example
 * ```ts
 * import { InferenceEngine } from "./engine.ts";
 * import { verifyEngine } from "./verify.ts";
 *
 * const engine = await InferenceEngine.start(new Uint8Array(0), { threads: 2 });
 * const { fullBatchMs } = await verifyEngine(engine, { runTimeoutMs: 2000, threads: 2 });
 * console.log(fullBatchMs);
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
