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
import type { Authorizer } from "./auth/authorize.ts";
import { listenTls, type TlsFiles } from "./tls/tls.ts";

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
  readTimeoutMs?: number;
  maxPipelined?: number;
  /** Who may be served (`--tokens`, `--legacy`, `--legacy-from`); everyone when absent. */
  auth?: Authorizer;
  /** A second board port speaking TLS (`--tls-port`), with its certificate and key. */
  tls?: TlsFiles & { port: number };
}

/** A running server. */
export class InferenceServer {
  readonly addr: Deno.NetAddr;
  /** The TLS board port's address, when there is one. */
  readonly tlsAddr: Deno.NetAddr | null;
  readonly model: ModelFile;
  readonly engine: InferenceEngine;
  readonly queue: InferenceQueue;
  readonly log: Logger;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  #listener: BoardListener;
  #tlsListener: BoardListener | null;
  #stopping: Promise<void> | null = null;
  #lastStats = { at: performance.now(), served: 0 };
  #auth: Authorizer | null;

  constructor(
    listener: Deno.TcpListener,
    model: ModelFile,
    engine: InferenceEngine,
    options: ServerOptions,
    tlsListener: Deno.TlsListener | null = null,
  ) {
    this.addr = listener.addr;
    this.tlsAddr = tlsListener?.addr ?? null;
    this.model = model;
    this.engine = engine;
    this.log = options.log ?? new Logger("info");
    this.#auth = options.auth ?? null;
    const warning = this.#auth?.describe().warning;
    if (warning) this.log.warn(warning);
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
      auth: options.auth,
    };
    this.#listener = new BoardListener(listener, context);
    this.#tlsListener = tlsListener && new BoardListener(tlsListener, context);
    this.finished = Promise.all([this.#listener.finished, this.#tlsListener?.finished])
      .then(() => this.#stopping ?? undefined);
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
      `parameters=${this.model.parameters} engine="${this.engine.shape.runtime}"` +
      (this.tlsAddr ? ` tls=${this.tlsAddr.hostname}:${this.tlsAddr.port}` : "") +
      (this.#auth ? ` ${this.#auth.describe().summary}` : "");
  }

  /** Stops accepting, answers what is in flight, closes every connection and the engine. */
  shutdown(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.all([this.#listener.shutdown(), this.#tlsListener?.shutdown()]);
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
    const hostname = options.hostname ?? "0.0.0.0";
    const listener = Deno.listen({ hostname, port: options.port ?? DEFAULT_PORT });
    let tls: Deno.TlsListener | null = null;
    try {
      tls = options.tls ? listenTls(hostname, options.tls.port, options.tls) : null;
    } catch (e) {
      listener.close();
      throw e;
    }
    return new InferenceServer(listener, model, engine, options, tls);
  } catch (e) {
    engine.close();
    throw e;
  }
}
