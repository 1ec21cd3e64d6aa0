/**
 * A running server: its board listeners (TCP, and TLS when asked), the models
 * it serves, and what it answers about itself (readiness, `GET_STATS`, the
 * start line), and its orderly shutdown. `startServer` (`server.ts`) builds
 * one; the request path it calls is wired in `request_wiring.ts`.
 *
 * @example
 * ```ts
 * import type { InferenceServer } from "./inference_server.ts";
 * import { startServer } from "./server.ts";
 *
 * const server: InferenceServer = await startServer({ hostname: "127.0.0.1", port: 0 });
 * console.log(server.ready(), server.stats().version); // true 2
 * await server.shutdown();
 * ```
 * @module
 */
import type { Stats } from "../shared/reply_codec.ts";
import type { HttpListener } from "./http/http.ts";
import type { Monitor } from "./monitor/monitor.ts";
import type { RequestHandler } from "./core/handler.ts";
import type { InferenceEngine } from "./engine/engine.ts";
import type { InferenceQueue } from "./engine/queue.ts";
import type { Logger } from "./log.ts";
import type { ModelFile } from "./models/model.ts";
import type { ModelServing } from "./models/serving.ts";
import type { ResolvedServerOptions } from "./options.ts";
import type { RepositoryWatcher } from "./models/watch.ts";
import { boardContext } from "./board_settings.ts";
import type { BoardLimits } from "./tcp/limits.ts";
import { BoardListener } from "./tcp/listener.ts";
import { ListenerWorkers } from "./listeners/listener_workers.ts";
import type { Authorizer } from "./auth/authorize.ts";
import type { MqttTransport } from "./mqtt/transport.ts";
import type { Rollouts } from "./rollout/rollouts.ts";
import type { FleetUpdates } from "./fleet/updates.ts";
import { wireRequests } from "./request_wiring.ts";

/** The protocol version a `GET_STATS` reply reports. */
export const PROTOCOL_VERSION = 2;

/** A running server. */
export class InferenceServer {
  readonly addr: Deno.NetAddr;
  /** The TLS board port's address, when there is one. */
  readonly tlsAddr: Deno.NetAddr | null;
  /** The models served, each with its queue, and the live swap. */
  readonly serving: ModelServing;
  /** Rescans the repository on changes, polls, SIGHUP and the HTTP load route. */
  readonly watcher: RepositoryWatcher;
  /** Request and run figures: metrics, the dashboard, the summary log lines. */
  readonly monitor: Monitor;
  /** The HTTP port, when on. */
  http: HttpListener | null = null;
  /** The MQTT transport, when `--mqtt` is set. */
  mqtt: MqttTransport | null = null;
  /** Shadow, canary, promote and rollback of candidate versions. */
  readonly rollouts: Rollouts;
  /** Answers requests for every transport (the HTTP port calls it too). */
  readonly handler: RequestHandler;
  /**
   * The connections' shared limits (`--max-connections`, the buffer budget
   * `--max-buffered-bytes` that HTTP bodies are charged to as well).
   */
  readonly limits: BoardLimits;
  /** Board code releases (`--firmware-dir`) and rollouts. */
  readonly updates: FleetUpdates;
  /** Rescans `--firmware-dir`, like the model repository's watcher. */
  releaseWatcher: RepositoryWatcher | null = null;
  readonly log: Logger;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  #listener: BoardListener | ListenerWorkers;
  #tlsListener: BoardListener | null;
  #stopping: Promise<void> | null = null;
  #draining = false;
  #auth: Authorizer | null;

  /** `listener`: the board port in process, or its listener Workers (`--listeners N`). */
  constructor(
    listener: Deno.TcpListener | ListenerWorkers,
    serving: ModelServing,
    watcher: RepositoryWatcher,
    monitor: Monitor,
    options: ResolvedServerOptions,
    tlsListener: Deno.TlsListener | null,
    updates: FleetUpdates,
  ) {
    this.updates = updates;
    this.addr = listener.addr;
    this.tlsAddr = listener instanceof ListenerWorkers
      ? listener.tlsAddr
      : tlsListener?.addr ?? null;
    this.serving = serving;
    this.watcher = watcher;
    this.monitor = monitor;
    this.log = options.log;
    this.#auth = options.auth ?? null;
    const warning = this.#auth?.describe().warning;
    if (warning) this.log.warn(warning);
    const wired = wireRequests({
      serving,
      watcher,
      monitor,
      options,
      updates,
      stats: () => this.stats(),
    });
    this.rollouts = wired.rollouts;
    this.handler = wired.handler;
    const context = boardContext(this.handler, options);
    if (listener instanceof ListenerWorkers) {
      listener.serve(this.handler, options.onConnection);
      this.#listener = listener;
      // The TLS port's connections count against the Workers' limits: one cap.
      context.limits = listener.limits;
    } else {
      this.#listener = new BoardListener(listener, context);
    }
    this.limits = context.limits;
    this.#tlsListener = tlsListener && new BoardListener(tlsListener, context);
    this.finished = Promise.all([this.#listener.finished, this.#tlsListener?.finished])
      .then(() => this.#stopping ?? undefined);
  }

  /** The default model's version serving now (a swap replaces it). */
  get model(): ModelFile {
    return this.serving.default!.file;
  }

  /** The default model's queue (legacy requests and requests that name no model). */
  get queue(): InferenceQueue {
    return this.serving.default!.queue;
  }

  /** The default model's instances serving now. */
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

  /**
   * Ready: not draining, the default model loaded, at least one of its
   * instances answers, and (`--listeners N`) at least one listener Worker serves.
   */
  ready(): boolean {
    return !this.#draining && !this.#stopping && !this.monitor.quiet &&
      this.serving.default !== undefined &&
      this.engines.some((engine) => engine.state === "ready") &&
      (this.listenerWorkers?.serving ?? 1) > 0;
  }

  /**
   * Live: no listener Worker runs on that could not be stopped
   * (`--listeners N`, `stuck_workers.ts`), a state only a restart of the process ends.
   */
  live(): boolean {
    return (this.listenerWorkers?.stuck.count ?? 0) === 0;
  }

  /** The listener Workers serving the ports (`--listeners N`); null in process. */
  get listenerWorkers(): ListenerWorkers | null {
    return this.#listener instanceof ListenerWorkers ? this.#listener : null;
  }

  /** Listener Workers started in place of a failed one since start (`--listeners N`). */
  get listenerRestarts(): number {
    return this.listenerWorkers?.restarts.count ?? 0;
  }

  /** Readiness turns false at once; everything else goes on serving (SIGTERM's first step). */
  drain(): void {
    this.#draining = true;
  }

  /** What `GET_STATS` answers: `freq` is inferences per second over the last 10 s. */
  stats(): Stats {
    // The default model may be unloaded (repository extension): stats still answer.
    const model = this.serving.default;
    return {
      version: PROTOCOL_VERSION,
      freq: Math.round(model?.queue.rate() ?? 0),
      mode: 0,
      parameters: model?.file.parameters ?? 0,
      served: this.served,
      model: model?.name ?? "",
      modelVersion: model?.queue.engineSet.version ?? 0,
    };
  }

  /** Digits answered since start, by every model. */
  get served(): number {
    return this.serving.models.reduce((n, m) => n + m.queue.served, 0);
  }

  /** Digits waiting for a run, for every model. */
  get queued(): number {
    return this.serving.models.reduce((n, m) => n + m.queue.queued, 0);
  }

  /** Board connections open now. */
  get connections(): number {
    // The Workers' count is the shared limits': it has the TLS port's connections too.
    if (this.#listener instanceof ListenerWorkers) return this.#listener.open;
    return this.#listener.open + (this.#tlsListener?.open ?? 0);
  }

  /** Connections each listener Worker has served since start (`--listeners N`); [] in process. */
  get connectionsPerListener(): number[] {
    return this.#listener instanceof ListenerWorkers ? this.#listener.connectionsPerListener : [];
  }

  /**
   * The dashboard's address, for the start line (null without the HTTP port):
   * `localhost` where the port listens on every address, since a browser
   * cannot open 0.0.0.0.
   */
  get dashboardUrl(): string | null {
    if (!this.http) return null;
    const { hostname, port } = this.http.addr;
    const host = hostname === "0.0.0.0" || hostname === "::"
      ? "localhost"
      : hostname.includes(":")
      ? `[${hostname}]`
      : hostname;
    return `http://${host}:${port}/`;
  }

  /**
   * The facts of the start line, in its order: a JSON start line's fields,
   * and the `key=value` pairs of the plain one (`describe`).
   */
  startFacts(): Record<string, string | number> {
    const facts: Record<string, string | number> = {
      address: `${this.addr.hostname}:${this.addr.port}`,
    };
    if (this.http) facts.http = `${this.http.addr.hostname}:${this.http.addr.port}`;
    facts.model = this.model.path;
    facts.version = this.queue.engineSet.version;
    facts.parameters = this.model.parameters;
    facts.instances = this.engines.length;
    facts.engine = this.engine.shape.runtime;
    facts.checksum = this.model.checksum;
    if (this.tlsAddr) facts.tls = `${this.tlsAddr.hostname}:${this.tlsAddr.port}`;
    if (this.mqtt) facts.mqtt = this.mqtt.url;
    if (this.#auth) {
      const { tokens, legacy } = this.#auth.describe();
      facts.tokens = tokens;
      facts.legacy = legacy;
    }
    if (this.dashboardUrl) facts.dashboard = this.dashboardUrl;
    return facts;
  }

  /** The one line printed at start (after "mnist-server "); the dashboard's address ends it. */
  describe(): string {
    const { address, ...rest } = this.startFacts();
    let line = `listening on ${address}`;
    for (const [key, value] of Object.entries(rest)) {
      line += key === "engine" ? ` ${key}="${value}"` : ` ${key}=${value}`;
    }
    return line;
  }

  /** Stops accepting, answers what is in flight, closes every connection and the engines. */
  shutdown(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#draining = true;
      this.watcher.close();
      this.releaseWatcher?.close();
      await Promise.all([
        this.#listener.shutdown(),
        this.#tlsListener?.shutdown(),
        this.http?.shutdown(),
        this.mqtt?.shutdown(),
      ]);
      this.monitor.close();
      await this.rollouts.close();
      await this.serving.close();
    })();
    return this.#stopping;
  }
}
