/**
 * The inference server, put together: the board port (TCP, and TLS when
 * asked) and the HTTP port, both calling the one request handler
 * (`core/handler.ts`); the models served from the repository, each with its
 * queue in front of K engine instances; the monitor, metrics and capture that
 * observe every request.
 *
 * @example
 * ```ts
 * import { startServer } from "./server.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0, httpPort: 0 });
 * console.log(server.describe()); // listening on 127.0.0.1:<port> ...
 * await server.shutdown();
 * ```
 * @module
 */
import { DIGIT_PIXELS, type Stats } from "../shared/codec.ts";
import { httpDeps } from "./http/deps.ts";
import { type HttpListener, startHttp } from "./http/http.ts";
import { ServerMetrics } from "./metrics/metrics.ts";
import { Monitor } from "./monitor/monitor.ts";
import { requestFromHandler } from "./monitor/from_handler.ts";
import { warmUp } from "./warm_up.ts";
import { RequestHandler } from "./core/handler.ts";
import type { RequestEvent } from "./core/request.ts";
import { BoardLimits } from "./tcp/limits.ts";
import type { InferenceEngine } from "./engine/engine.ts";
import type { InferenceQueue } from "./engine/queue.ts";
import type { Logger } from "./log.ts";
import type { ModelFile } from "./models/model.ts";
import { openServing } from "./models/open.ts";
import type { ModelServing } from "./models/serving.ts";
import { type ResolvedServerOptions, type ServerOptions, withServerDefaults } from "./options.ts";
import { RepositoryWatcher } from "./models/watch.ts";
import type { DigitCapture } from "./models/capture.ts";
import type { ConnectionContext } from "./tcp/connection.ts";
import { BoardListener } from "./tcp/listener.ts";
import type { Authorizer } from "./auth/authorize.ts";
import { listenTls } from "./tls/tls.ts";
import { MqttTransport } from "./mqtt/transport.ts";
import { Rollouts } from "./rollout/rollouts.ts";
import { registerRolloutMetrics } from "./rollout/metrics.ts";
import { ReleaseStore } from "./fleet/releases.ts";
import { FleetUpdates } from "./fleet/updates.ts";

/** The protocol version a `GET_STATS` reply reports. */
export const PROTOCOL_VERSION = 2;
export type { ServerOptions } from "./options.ts";

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
  /** Board code releases (`--firmware-dir`) and rollouts. */
  readonly updates: FleetUpdates;
  /** Rescans `--firmware-dir`, like the model repository's watcher. */
  releaseWatcher: RepositoryWatcher | null = null;
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
    serving: ModelServing,
    watcher: RepositoryWatcher,
    monitor: Monitor,
    options: ResolvedServerOptions,
    tlsListener: Deno.TlsListener | null = null,
    updates: FleetUpdates = newFleetUpdates(options),
  ) {
    this.updates = updates;
    this.addr = listener.addr;
    this.tlsAddr = tlsListener?.addr ?? null;
    this.serving = serving;
    this.watcher = watcher;
    this.monitor = monitor;
    this.log = options.log;
    this.#auth = options.auth ?? null;
    const warning = this.#auth?.describe().warning;
    if (warning) this.log.warn(warning);
    const rollouts = this.rollouts = new Rollouts({
      serving,
      rescan: () => watcher.trigger("request"),
      log: this.log,
      rules: options,
      shadowSample: options.shadowSample,
      lowConfidence: options.lowConfidence,
      maxIdle: options.maxBatch,
      onShadow: (event) => {
        options.onShadow?.(event);
        // A disagreement is worth labelling; a kept digit gets the candidate's scores too.
        if (options.capture && !monitor.quiet) options.capture.shadowed(event);
      },
    });
    registerRolloutMetrics(monitor.metrics.registry, rollouts);
    this.handler = new RequestHandler({
      route: (model, version, deviceId) => rollouts.route(model, version, deviceId),
      byDevice: () => rollouts.byDevice,
      stats: () => this.stats(),
      log: this.log,
      auth: this.#auth,
      updates,
      onRequest: (event) => {
        // The server's own warm-up is no client's: nothing of it is counted or captured.
        if (monitor.quiet) return;
        monitor.request(requestFromHandler(event));
        rollouts.observe(event);
        options.onRequest?.(event);
        if (options.capture) captureServed(options.capture, event);
      },
    });
    const context: ConnectionContext = {
      handler: this.handler,
      log: this.log,
      limits: new BoardLimits({
        maxConnections: options.maxConnections,
        maxConnectionsPerAddress: options.maxConnectionsPerAddress,
        maxBufferedBytes: options.maxBufferedBytes,
        maxQueued: options.maxQueued,
        minQueueShare: options.minQueueShare,
      }),
      trustedProxies: options.trustedProxies ?? null,
      maxFrame: options.maxFrame,
      maxLegacy: options.maxLegacy,
      readTimeoutMs: options.messageTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      writeTimeoutMs: options.writeTimeoutMs,
      maxPipelined: options.maxPipelined,
      onConnection: options.onConnection,
    };
    this.#listener = new BoardListener(listener, context);
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

  /** Ready: not draining, the default model loaded, and at least one of its instances answers. */
  ready(): boolean {
    return !this.#draining && !this.#stopping && !this.monitor.quiet &&
      this.serving.default !== undefined &&
      this.engines.some((engine) => engine.state === "ready");
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
    return this.#listener.open + (this.#tlsListener?.open ?? 0);
  }

  /** The one line printed at start (after "mnist-server "). */
  describe(): string {
    const engine = this.engine;
    const http = this.http ? ` http=${this.http.addr.hostname}:${this.http.addr.port}` : "";
    return `listening on ${this.addr.hostname}:${this.addr.port}${http} model=${this.model.path} ` +
      `version=${this.queue.engineSet.version} parameters=${this.model.parameters} ` +
      `instances=${this.engines.length} engine="${engine.shape.runtime}" ` +
      `checksum=${this.model.checksum}` +
      (this.tlsAddr ? ` tls=${this.tlsAddr.hostname}:${this.tlsAddr.port}` : "") +
      (this.mqtt ? ` mqtt=${this.mqtt.url}` : "") +
      (this.#auth ? ` ${this.#auth.describe().summary}` : "");
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

/**
 * Listens, then loads the models and starts and warms their engine
 * instances, then accepts. Binding first makes an unusable address fail at
 * once; connections that arrive during warm-up wait in the backlog.
 */
export async function startServer(given: ServerOptions = {}): Promise<InferenceServer> {
  // The option table's defaults, merged once: nothing below restates one.
  const options = withServerDefaults(given);
  const { log, hostname } = options;
  const listener = Deno.listen({ hostname, port: options.port });
  let tls: Deno.TlsListener | null = null;
  let serving: ModelServing | null = null;
  let server: InferenceServer | null = null;
  const updates = newFleetUpdates(options);
  const sources = {
    queueDepth: () => server?.queued ?? 0,
    engineRestarts: () =>
      server?.serving.models.reduce(
        (n, m) => n + m.queue.engineSet.engines.reduce((k, e) => k + e.restarts, 0),
        0,
      ) ?? 0,
    connections: () => ({ tcp: server?.connections ?? 0 }),
    ready: () => server?.ready() ?? false,
    mqtt: () => server?.mqtt?.state() ?? null,
    devices: (): Record<string, number> => monitor.fleet.counts(),
    rollouts: () => server?.rollouts.snapshot() ?? [],
    updates: (): Record<string, number> => updates.counts(),
  };
  const metrics = new ServerMetrics(null, sources);
  const monitor = new Monitor({
    log,
    metrics,
    sources,
    silentAfterMs: options.deviceSilentAfter * 1000,
    forgetAfterMs: options.deviceForgetAfter * 1000,
    maxDevices: options.maxDevices,
  });
  try {
    if (options.tls) tls = listenTls(hostname, options.tls.port, options.tls);
    serving = await openServing(options, log, monitor);
    const model = options.model instanceof URL ? options.model.pathname : options.model;
    const watcher = RepositoryWatcher.start({
      root: model ? dirOf(model) : options.modelRepository,
      rescan: () => serving!.rescan(),
      pollSeconds: options.pollSeconds,
      watch: options.watch === true,
      sighup: options.sighup === true,
      log,
    });
    monitor.fleet.updateOf = (id) => updates.deviceView(id);
    await updates.store.rescan();
    server = new InferenceServer(listener, serving, watcher, monitor, options, tls, updates);
    if (options.firmwareDir) {
      server.releaseWatcher = RepositoryWatcher.start({
        root: options.firmwareDir,
        rescan: () => updates.store.rescan(),
        what: "firmware folder",
        pollSeconds: options.pollSeconds,
        watch: options.watch === true,
        sighup: options.sighup === true,
        log,
      });
    }
    const releaseWatcher = server.releaseWatcher;
    const httpPort = options.httpPort;
    if (httpPort !== null) {
      server.http = startHttp(
        httpDeps({
          serving,
          watcher,
          ready: () => server!.ready(),
          log,
          maxBatch: options.maxBatch,
          maxBodyBytes: options.maxHttpBody,
          handler: server.handler,
          rollouts: server.rollouts,
        }, {
          monitor,
          auth: options.auth ?? null,
          adminToken: options.adminToken ?? null,
          operatorToken: options.operatorToken ?? null,
          metricsToken: options.metricsToken,
          serverVersion: String(PROTOCOL_VERSION),
          updates,
          rescanReleases: () =>
            releaseWatcher ? releaseWatcher.trigger("request") : updates.store.rescan(),
        }),
        { hostname, port: httpPort, tls: options.httpTls },
      );
    }
    // Warmed before MQTT subscribes: whatever comes through the broker is counted.
    if (options.warmUpMs > 0) await warmServer(server, options.warmUpMs);
    if (options.mqtt) {
      const mqtt = MqttTransport.start({
        ...options.mqtt,
        handler: server.handler,
        log,
        maxFrame: options.maxFrame,
        maxQueued: options.maxQueued,
        minQueueShare: options.minQueueShare,
      });
      if (mqtt instanceof Error) throw mqtt;
      server.mqtt = mqtt;
    }
    return server;
  } catch (e) {
    if (server) await server.shutdown();
    else {
      monitor.close();
      listener.close();
      tls?.close();
      await serving?.close();
    }
    throw e;
  }
}

/** Releases from `--firmware-dir` (none without it) and the rollouts that offer them. */
function newFleetUpdates(options: ResolvedServerOptions): FleetUpdates {
  return new FleetUpdates({
    store: new ReleaseStore(options.firmwareDir ?? null, options.log),
    maxFailures: options.rolloutMaxFailures,
    perMinute: options.rolloutPerMinute,
    log: options.log,
  });
}

/** Offers every served digit to the capture (`--capture`): it keeps what its rule picks. */
function captureServed(capture: DigitCapture, event: RequestEvent): void {
  const digits = event.digitU8 ?? event.digit;
  if (!digits || !event.results) return;
  const device = event.deviceId;
  for (let i = 0; i < event.results.length; i++) {
    const result = event.results[i];
    capture.offer(digits.subarray(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS), {
      model: event.modelName,
      version: result.modelVersion,
      device,
      scores: result.scores,
    });
  }
}

/** The folder of a file path (editors replace files by renaming, so the folder is watched). */
function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
}

/**
 * Warms the request path for `budgetMs` before the server is announced (its
 * start line, its readiness): uncounted, and the queue's figures reset after.
 */
async function warmServer(server: InferenceServer, budgetMs: number): Promise<void> {
  server.monitor.quiet = true;
  try {
    const http = server.http?.addr as Deno.NetAddr | undefined;
    const report = await warmUp(
      { board: server.addr, http: http ?? null, model: server.queue.model },
      budgetMs,
    );
    server.log.debug("warmed up", { ...report, ms: report.ms.toFixed(0) });
  } finally {
    server.monitor.quiet = false;
    for (const model of server.serving.models) model.queue.served = model.queue.runs = 0;
  }
}
