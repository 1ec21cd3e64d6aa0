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
import type { ConnectionEvent } from "./tcp/limits.ts";
import { type RequestEvent, RequestHandler } from "./handler.ts";
import type { CidrList } from "./tcp/cidr.ts";
import { BoardLimits, DEFAULT_MAX_CONNECTIONS } from "./tcp/limits.ts";
import { BoardListener } from "./tcp/listener.ts";
import { InferenceEngine } from "./engine/engine.ts";
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
  maxBatch?: number;
  maxQueued?: number;
  maxFrame?: number;
  maxLegacy?: number;
  /** Deadline of a whole message from its first byte, and of a silent connection (default 5 s). */
  readTimeoutMs?: number;
  /** How long a framed connection may wait between messages (default 15 min). */
  idleTimeoutMs?: number;
  /** How long a reply's write may make no progress before its connection is closed (default 10 s). */
  writeTimeoutMs?: number;
  maxPipelined?: number;
  /** Board connections served at once (default `DEFAULT_MAX_CONNECTIONS`, 10,000). */
  maxConnections?: number;
  /** Board connections from one client address (default 1,024: a NAT gateway of many boards). */
  maxConnectionsPerAddress?: number;
  /** Bytes of unfinished messages buffered across all board connections (default 64 MiB). */
  maxBufferedBytes?: number;
  /** The smallest share of the queue a board connection gets however many are busy (default 16). */
  minQueueShare?: number;
  /** Peers whose PROXY protocol v2 header names the real client (`--trusted-proxy`). */
  trustedProxies?: CidrList | null;
  /** Told every request's outcome (metrics, dashboard). */
  onRequest?: (event: RequestEvent) => void;
  /** Told when the board port closes or refuses a connection. */
  onConnection?: (event: ConnectionEvent) => void;
}

/** A running server. */
export class InferenceServer {
  readonly addr: Deno.NetAddr;
  readonly model: ModelFile;
  readonly engine: InferenceEngine;
  readonly queue: InferenceQueue;
  /** Answers requests for every transport (the HTTP port calls it too). */
  readonly handler: RequestHandler;
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
    this.handler = new RequestHandler({
      queue: this.queue,
      stats: () => this.stats(),
      log: this.log,
      onRequest: options.onRequest,
    });
    const context: ConnectionContext = {
      handler: this.handler,
      log: this.log,
      limits: new BoardLimits({
        maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
        maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 1024,
        maxBufferedBytes: options.maxBufferedBytes ?? 64 * 1024 * 1024,
        maxQueued: options.maxQueued ?? 4096,
        minQueueShare: options.minQueueShare ?? 16,
      }),
      trustedProxies: options.trustedProxies ?? null,
      maxFrame: options.maxFrame ?? 16 * 1024,
      maxLegacy: options.maxLegacy ?? 64 * 1024,
      readTimeoutMs: options.readTimeoutMs ?? 5000,
      idleTimeoutMs: options.idleTimeoutMs ?? 15 * 60_000,
      writeTimeoutMs: options.writeTimeoutMs ?? 10_000,
      maxPipelined: options.maxPipelined ?? 256,
      onConnection: options.onConnection,
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
    return new InferenceServer(listener, model, engine, options);
  } catch (e) {
    engine.close();
    throw e;
  }
}
