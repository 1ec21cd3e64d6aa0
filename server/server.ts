/**
 * The inference server: a TCP listener whose connections feed one
 * `InferenceQueue` in front of one `InferenceEngine`.
 *
 * @example
 * ```ts
 * import { startServer } from "./server.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0 });
 * console.log(server.describe()); // listening on 127.0.0.1:<port> ...
 * await server.shutdown();
 * ```
 * @module
 */
import type { Stats } from "../shared/codec.ts";
import { InferenceQueue } from "./engine/queue.ts";
import type { ConnectionContext } from "./tcp/connection.ts";
import { BoardListener } from "./tcp/listener.ts";
import { InferenceEngine } from "./engine/engine.ts";
import { startWarmed } from "./engine/verify.ts";
import type { EngineKind } from "./engine/kinds.ts";
import { Logger } from "./log.ts";
import { DEFAULT_MODEL, loadModelFile, type ModelFile } from "./models/model.ts";

/** The protocol version a `GET_STATS` reply reports. */
export const PROTOCOL_VERSION = 2;
/** The earlier design's port. */
export const DEFAULT_PORT = 32001;
/**
 * WASM threads by default: one. Two are faster on this 2-core machine (about
 * +22% req/s at 500 clients, see bench/README.md), but onnxruntime-web's
 * thread start-up can hang the engine when load arrives at once (1 in 16 fresh
 * starts even after a full-batch warm-up), so `--threads 2` is opt-in.
 */
export const DEFAULT_THREADS = 1;

/**
 * How long one warm-up run may take before it is taken for hung and the
 * engine is started afresh: first full batches with 2+ WASM threads can take
 * over a second on a busy machine, and a hung one never finishes.
 */
export const WARMUP_TIMEOUT_MS = 10_000;

/** Options of `startServer`; every one has a default. */
export interface ServerOptions {
  hostname?: string;
  /** 0 picks a free port. */
  port?: number;
  model?: string | URL;
  /** Refuse a model whose sha256 differs from its metadata (default true). */
  verifyChecksum?: boolean;
  log?: Logger;
  /** WASM threads for onnxruntime-web (default `DEFAULT_THREADS`). */
  threads?: number;
  /** Which onnxruntime runs the model (default "wasm"). */
  engine?: EngineKind;
  maxBatch?: number;
  /** A run longer than this (ms) is taken for a hung worker (the engine's default, 2,000). */
  runTimeoutMs?: number;
  maxQueued?: number;
  maxFrame?: number;
  maxLegacy?: number;
  readTimeoutMs?: number;
  maxPipelined?: number;
}

/** A running server. */
export class InferenceServer {
  readonly addr: Deno.NetAddr;
  readonly model: ModelFile;
  readonly engine: InferenceEngine;
  readonly queue: InferenceQueue;
  readonly log: Logger;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  #listener: BoardListener;
  #stopping: Promise<void> | null = null;
  #lastStats = { at: performance.now(), served: 0 };

  constructor(
    listener: Deno.TcpListener,
    model: ModelFile,
    engine: InferenceEngine,
    options: ServerOptions,
  ) {
    this.addr = listener.addr;
    this.model = model;
    this.engine = engine;
    this.log = options.log ?? new Logger("info");
    this.queue = new InferenceQueue(engine, {
      maxBatch: options.maxBatch ?? 128,
      maxQueued: options.maxQueued ?? 4096,
    });
    const context: ConnectionContext = {
      queue: this.queue,
      stats: () => this.stats(),
      log: this.log,
      maxFrame: options.maxFrame ?? 16 * 1024,
      maxLegacy: options.maxLegacy ?? 64 * 1024,
      readTimeoutMs: options.readTimeoutMs ?? 5000,
      maxPipelined: options.maxPipelined ?? 256,
    };
    this.#listener = new BoardListener(listener, context);
    this.finished = this.#listener.finished.then(() => this.#stopping ?? undefined);
  }

  /** What `GET_STATS` answers: inferences per second since the previous stats request. */
  stats(): Stats {
    const now = performance.now();
    const served = this.queue.served;
    const seconds = (now - this.#lastStats.at) / 1000;
    const freq = seconds > 0 ? Math.round((served - this.#lastStats.served) / seconds) : 0;
    this.#lastStats = { at: now, served };
    return {
      version: PROTOCOL_VERSION,
      freq,
      mode: 0,
      parameters: this.model.parameters,
      served,
      model: this.model.name,
    };
  }

  /** The one line printed at start. */
  describe(): string {
    return `listening on ${this.addr.hostname}:${this.addr.port} model=${this.model.path} ` +
      `parameters=${this.model.parameters} engine="${this.engine.shape.runtime}"`;
  }

  /** Stops accepting, answers what is in flight, closes every connection and the engine. */
  shutdown(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#listener.shutdown();
      await this.queue.drained();
      this.engine.close();
    })();
    return this.#stopping;
  }
}

/** Loads the model, starts the engine and listens. */
export async function startServer(options: ServerOptions = {}): Promise<InferenceServer> {
  const model = await loadModelFile(options.model ?? DEFAULT_MODEL, {
    verifyChecksum: options.verifyChecksum ?? true,
  });
  const threads = options.threads ?? DEFAULT_THREADS;
  const runTimeoutMs = options.runTimeoutMs ?? 2_000;
  const log = options.log ?? new Logger("info");
  // The first runs compile kernels, allocate, and start onnxruntime's other
  // threads (a full batch engages them all); do it before any client waits.
  // They run under the warm-up deadline, not the run watchdog; a warm-up that
  // hangs gets a fresh start; the steady state must fit the watchdog, or the
  // start is refused (engine/verify.ts).
  const engine = await startWarmed(
    () =>
      InferenceEngine.start(model.bytes, {
        threads,
        engine: options.engine,
        maxBatch: options.maxBatch ?? 128,
        runTimeoutMs: Math.max(runTimeoutMs, WARMUP_TIMEOUT_MS),
      }),
    {
      runTimeoutMs,
      threads,
      onRetry: (attempt, reason) =>
        log.warn("engine warm-up hung; starting afresh", { attempt, reason }),
    },
  );
  engine.runTimeoutMs = runTimeoutMs;
  try {
    const listener = Deno.listen({
      hostname: options.hostname ?? "0.0.0.0",
      port: options.port ?? DEFAULT_PORT,
    });
    return new InferenceServer(listener, model, engine, options);
  } catch (e) {
    engine.close();
    throw e;
  }
}
