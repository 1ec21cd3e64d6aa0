/**
 * The inference server: a board listener (TCP) whose connections feed one
 * `InferenceQueue` in front of K engine instances of one model.
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
import { DEFAULT_PORT } from "./config.ts";
import type { ConnectionEvent } from "./tcp/connection.ts";
import { type RequestEvent, RequestHandler } from "./handler.ts";
import { InferenceEngine } from "./engine/engine.ts";
import { InferenceQueue, type RunEvent } from "./engine/queue.ts";
import { Logger } from "./log.ts";
import { DEFAULT_MODEL, loadModelFile, type ModelFile } from "./models/model.ts";
import type { ConnectionContext } from "./tcp/connection.ts";
import { BoardListener } from "./tcp/listener.ts";
import type { Authorizer } from "./auth/authorize.ts";
import { listenTls, type TlsFiles } from "./tls/tls.ts";

/** The protocol version a `GET_STATS` reply reports. */
export const PROTOCOL_VERSION = 2;
export { DEFAULT_PORT };
/**
 * WASM threads per instance by default: one. Independent single-threaded
 * instances scale with cores where onnxruntime-web's threads do not, and its
 * thread start-up can hang when load arrives at once.
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
  /** Engine instances (default 1). */
  instances?: number;
  /** WASM threads per instance (default `DEFAULT_THREADS`). */
  threads?: number;
  maxBatch?: number;
  maxQueued?: number;
  maxFrame?: number;
  maxLegacy?: number;
  /** A whole message must arrive within this from its first byte, and a silent legacy connection is closed after it, ms (default 5 s). */
  messageTimeoutMs?: number;
  /** How long a framed connection may wait between messages, ms (default 15 min). */
  idleTimeoutMs?: number;
  /** How long a reply's write may make no progress before its connection is closed, ms (default 10 s). */
  writeTimeoutMs?: number;
  maxPipelined?: number;
  /** An engine run without progress for this long fails and its worker is replaced, ms. */
  runTimeoutMs?: number;
  /** The engine worker script (default onnxruntime-web's). */
  workerUrl?: string | URL;
  /** Called after every engine run. */
  onRun?: (event: RunEvent) => void;
  /** Told every request's outcome (metrics, dashboard). */
  onRequest?: (event: RequestEvent) => void;
  /** Told when the board port closes or refuses a connection. */
  onConnection?: (event: ConnectionEvent) => void;
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
  readonly queue: InferenceQueue;
  /** Answers requests for every transport (the HTTP port calls it too). */
  readonly handler: RequestHandler;
  readonly log: Logger;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  #listener: BoardListener;
  #tlsListener: BoardListener | null;
  #stopping: Promise<void> | null = null;
  #draining = false;
  #auth: Authorizer | null;

  constructor(
    listener: Deno.TcpListener,
    model: ModelFile,
    queue: InferenceQueue,
    options: ServerOptions,
    tlsListener: Deno.TlsListener | null = null,
  ) {
    this.addr = listener.addr;
    this.tlsAddr = tlsListener?.addr ?? null;
    this.model = model;
    this.queue = queue;
    this.log = options.log ?? new Logger("info");
    this.#auth = options.auth ?? null;
    const warning = this.#auth?.describe().warning;
    if (warning) this.log.warn(warning);
    this.handler = new RequestHandler({
      queue: this.queue,
      stats: () => this.stats(),
      log: this.log,
      auth: this.#auth,
      onRequest: options.onRequest,
    });
    const context: ConnectionContext = {
      handler: this.handler,
      log: this.log,
      maxFrame: options.maxFrame ?? 16 * 1024,
      maxLegacy: options.maxLegacy ?? 64 * 1024,
      readTimeoutMs: options.messageTimeoutMs ?? 5000,
      idleTimeoutMs: options.idleTimeoutMs ?? 15 * 60_000,
      writeTimeoutMs: options.writeTimeoutMs ?? 10_000,
      maxPipelined: options.maxPipelined ?? 256,
      onConnection: options.onConnection,
    };
    this.#listener = new BoardListener(listener, context);
    this.#tlsListener = tlsListener && new BoardListener(tlsListener, context);
    this.finished = Promise.all([this.#listener.finished, this.#tlsListener?.finished])
      .then(() => this.#stopping ?? undefined);
  }

  /** The instances serving now. */
  get engines(): InferenceEngine[] {
    return this.queue.engineSet.engines;
  }

  /** The first instance: what the model's shape and runtime are read from. */
  get engine(): InferenceEngine {
    return this.engines[0];
  }

  /** Worker replacements across every instance since start. */
  get restarts(): number {
    return this.engines.reduce((sum, engine) => sum + engine.restarts, 0);
  }

  /** Ready: not draining, and at least one instance answers. */
  ready(): boolean {
    return !this.#draining && !this.#stopping &&
      this.engines.some((engine) => engine.state === "ready");
  }

  /** Readiness turns false at once; everything else goes on serving (SIGTERM's first step). */
  drain(): void {
    this.#draining = true;
  }

  /** What `GET_STATS` answers: `freq` is inferences per second over the last 10 s. */
  stats(): Stats {
    return {
      version: PROTOCOL_VERSION,
      freq: Math.round(this.queue.rate()),
      mode: 0,
      parameters: this.model.parameters,
      served: this.queue.served,
      model: this.model.name,
      modelVersion: this.queue.engineSet.version,
    };
  }

  /** The one line printed at start (after "mnist-server "). */
  describe(): string {
    const engine = this.engine;
    return `listening on ${this.addr.hostname}:${this.addr.port} model=${this.model.path} ` +
      `version=${this.queue.engineSet.version} parameters=${this.model.parameters} ` +
      `instances=${this.engines.length} engine="${engine.shape.runtime}" ` +
      `checksum=${this.model.checksum}` +
      (this.tlsAddr ? ` tls=${this.tlsAddr.hostname}:${this.tlsAddr.port}` : "") +
      (this.#auth ? ` ${this.#auth.describe().summary}` : "");
  }

  /** Stops accepting, answers what is in flight, closes every connection and the engines. */
  shutdown(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#draining = true;
      await Promise.all([this.#listener.shutdown(), this.#tlsListener?.shutdown()]);
      await this.queue.close();
    })();
    return this.#stopping;
  }
}

/** Starts `count` warmed instances of `model`; if one fails, the others are closed. */
export async function startEngines(
  model: Uint8Array,
  count: number,
  options: Parameters<typeof InferenceEngine.start>[1],
): Promise<InferenceEngine[]> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => InferenceEngine.start(model, options)),
  );
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    for (const s of started) if (s.status === "fulfilled") s.value.close();
    throw (failed as PromiseRejectedResult).reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<InferenceEngine>).value);
}

/** Loads the model, starts and warms the engine instances, and listens. */
export async function startServer(options: ServerOptions = {}): Promise<InferenceServer> {
  const log = options.log ?? new Logger("info");
  const model = await loadModelFile(options.model ?? DEFAULT_MODEL, {
    verifyChecksum: options.verifyChecksum ?? true,
  });
  const engines = await startEngines(model.bytes, options.instances ?? 1, {
    threads: options.threads ?? DEFAULT_THREADS,
    maxBatch: options.maxBatch ?? 128,
    runTimeoutMs: options.runTimeoutMs,
    workerUrl: options.workerUrl,
    onRestart: (reason) => log.error("engine worker replaced", { code: "INTERNAL_ERROR", reason }),
  });
  const queue = new InferenceQueue({ engines, version: model.version }, {
    maxBatch: options.maxBatch ?? 128,
    maxQueued: options.maxQueued ?? 4096,
    onRun: options.onRun,
  });
  try {
    const hostname = options.hostname ?? "0.0.0.0";
    const listener = Deno.listen({ hostname, port: options.port ?? DEFAULT_PORT });
    let tls: Deno.TlsListener | null = null;
    try {
      tls = options.tls ? listenTls(hostname, options.tls.port, options.tls) : null;
    } catch (e) {
      listener.close();
      throw e;
    }
    return new InferenceServer(listener, model, queue, { ...options, log }, tls);
  } catch (e) {
    for (const engine of engines) engine.close();
    throw e;
  }
}
