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
import { Logger } from "./log.ts";
import { DEFAULT_MODEL, loadModelFile, type ModelFile } from "./models/model.ts";
import { ServerMetrics } from "./metrics/metrics.ts";
import { Monitor } from "./monitor/monitor.ts";
import { type HttpListener, startHttp } from "./http/http.ts";
import type { ModelInfo } from "./http/oip.ts";

/** The protocol version a `GET_STATS` reply reports. */
export const PROTOCOL_VERSION = 2;
/** The earlier design's port. */
export const DEFAULT_PORT = 32001;
/** The HTTP port by default: Triton's. */
export const DEFAULT_HTTP_PORT = 8000;
/**
 * WASM threads by default: one. Two are faster on this 2-core machine (about
 * +22% req/s at 500 clients, see bench/README.md), but onnxruntime-web's
 * thread start-up can hang the engine when load arrives at once (1 in 16 fresh
 * starts even after a full-batch warm-up), so `--threads 2` is opt-in.
 */
export const DEFAULT_THREADS = 1;

/** Options of `startServer`; every one has a default. */
export interface ServerOptions {
  hostname?: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * The HTTP port (OIP, /metrics, dashboard): 0 picks a free one, null turns
   * it off (default 8000, or 0 when `port` is 0).
   */
  httpPort?: number | null;
  /** Where the HTTP port listens (default: `hostname`). */
  httpHostname?: string;
  model?: string | URL;
  /** Refuse a model whose sha256 differs from its metadata (default true). */
  verifyChecksum?: boolean;
  log?: Logger;
  /** WASM threads for onnxruntime-web (default `DEFAULT_THREADS`). */
  threads?: number;
  maxBatch?: number;
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
  readonly monitor: Monitor;
  /** The HTTP port, when on. */
  http: HttpListener | null = null;
  /** Set on SIGTERM: readiness answers 503 while the server keeps serving. */
  draining = false;
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
    const sources = {
      queueDepth: () => this.queue.queued,
      engineRestarts: () => engine.restarts,
      connections: () => ({ tcp: this.#listener.open }),
      ready: () => this.ready(),
    };
    const info = modelInfo(model, engine, options.maxBatch ?? 128);
    const metrics = new ServerMetrics({ model: info.name, version: info.version }, sources);
    this.monitor = new Monitor({ log: this.log, metrics, sources });
    this.queue = new InferenceQueue(engine, {
      maxBatch: options.maxBatch ?? 128,
      maxQueued: options.maxQueued ?? 4096,
      onRun: (n, ms) => this.monitor.run(n, ms),
    });
    const context: ConnectionContext = {
      queue: this.queue,
      stats: () => this.stats(),
      log: this.log,
      maxFrame: options.maxFrame ?? 16 * 1024,
      maxLegacy: options.maxLegacy ?? 64 * 1024,
      readTimeoutMs: options.readTimeoutMs ?? 5000,
      maxPipelined: options.maxPipelined ?? 256,
      observe: (event) => this.monitor.request(event),
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

  /** Readiness: the model is loaded, the engine answers, and the server is not draining. */
  ready(): boolean {
    return !this.draining && this.engine.answering;
  }

  /** The one line printed at start. */
  describe(): string {
    const http = this.http ? ` http=${this.http.addr.hostname}:${this.http.addr.port}` : "";
    return `listening on ${this.addr.hostname}:${this.addr.port}${http} model=${this.model.path} ` +
      `parameters=${this.model.parameters} engine="${this.engine.shape.runtime}"`;
  }

  /** Stops accepting, answers what is in flight, closes every connection and the engine. */
  shutdown(): Promise<void> {
    this.#stopping ??= (async () => {
      this.draining = true;
      await Promise.all([this.#listener.shutdown(), this.http?.shutdown()]);
      this.monitor.close();
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
  const engine = await InferenceEngine.start(model.bytes, {
    threads: options.threads ?? DEFAULT_THREADS,
    maxBatch: options.maxBatch ?? 128,
  });
  try {
    // The first runs compile kernels, allocate, and start onnxruntime's other
    // threads (a full batch engages them all); do it before any client waits.
    await engine.run(new Float32Array(784), 1);
    const full = engine.maxBatch;
    await engine.run(new Float32Array(784 * full), full);
    const listener = Deno.listen({
      hostname: options.hostname ?? "0.0.0.0",
      port: options.port ?? DEFAULT_PORT,
    });
    const server = new InferenceServer(listener, model, engine, options);
    // A free TCP port implies a free HTTP port, so tests and benches never collide on 8000.
    const httpPort = options.httpPort !== undefined
      ? options.httpPort
      : options.port === 0
      ? 0
      : DEFAULT_HTTP_PORT;
    if (httpPort !== null) {
      try {
        server.http = startHttp({
          queue: server.queue,
          model: modelInfo(model, engine, options.maxBatch ?? 128),
          ready: () => server.ready(),
          monitor: server.monitor,
          log: server.log,
          server: { name: "mnist-server", version: String(PROTOCOL_VERSION) },
        }, { hostname: options.httpHostname ?? listener.addr.hostname, port: httpPort });
      } catch (e) {
        await server.shutdown();
        throw e;
      }
    }
    return server;
  } catch (e) {
    engine.close();
    throw e;
  }
}

/** What the HTTP port says of the model: its name without `.onnx`, version 1 until models are versioned. */
function modelInfo(model: ModelFile, engine: InferenceEngine, maxBatch: number): ModelInfo {
  return {
    name: model.name.replace(/\.onnx$/, ""),
    version: "1",
    platform: "onnxruntime_onnx",
    input: engine.shape.input,
    output: engine.shape.output,
    inputDims: engine.shape.inputDims.map((d, i) => (i === 0 ? -1 : d)),
    maxBatch: Math.min(maxBatch, engine.maxBatch),
    runtime: engine.shape.runtime,
  };
}
