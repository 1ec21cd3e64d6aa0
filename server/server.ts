/**
 * The inference server, put together: the board port (TCP, and TLS when
 * asked) and the HTTP port, both calling the one request handler
 * (`core/handler.ts`); the models served from the repository, each with its
 * queue in front of K engine instances; the monitor, metrics and capture that
 * observe every request. `startServer` is the start sequence; the running
 * server is `inference_server.ts`, its request path `request_wiring.ts`.
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
import { httpDeps } from "./http/deps.ts";
import { startHttp } from "./http/http.ts";
import { serveHttpOnListeners } from "./listeners/listener_http.ts";
import { ServerMetrics } from "./metrics/metrics.ts";
import { Monitor } from "./monitor/monitor.ts";
import { settle, warmUp } from "./warm_up.ts";
import { openServing } from "./open_serving.ts";
import type { ModelServing } from "./models/serving.ts";
import { type ResolvedServerOptions, type ServerOptions, withServerDefaults } from "./options.ts";
import { RepositoryWatcher } from "./models/watch.ts";
import { listenTls } from "./tls/tls.ts";
import { MqttTransport } from "./mqtt/transport.ts";
import { ReleaseStore } from "./fleet/releases.ts";
import { FleetUpdates } from "./fleet/updates.ts";
import { InferenceServer, PROTOCOL_VERSION } from "./inference_server.ts";
import { listenerOptions } from "./board_settings.ts";
import { ListenerWorkers } from "./listeners/listener_workers.ts";
import { httpBudget } from "./tcp/limits.ts";

/**
 * Listens, then loads the models and starts and warms their engine
 * instances, then accepts. Binding first makes an unusable address fail at
 * once; connections that arrive during warm-up wait in the backlog.
 */
export async function startServer(given: ServerOptions = {}): Promise<InferenceServer> {
  // The option table's defaults, merged once: nothing below restates one.
  const options = withServerDefaults(given);
  const { log, hostname } = options;
  const listener = options.listeners > 1
    ? await ListenerWorkers.start(options.listeners, listenerOptions(options))
    : Deno.listen({ hostname, port: options.port });
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
    listenerRestarts: () => server?.listenerRestarts ?? 0,
    connections: () => ({ tcp: server?.connections ?? 0 }),
    ready: () => server?.ready() ?? false,
    live: () => server?.live() ?? true,
    mqtt: () => server?.mqtt?.state() ?? null,
    devices: (): Record<string, number> => monitor.fleet.counts(),
    devicesEvicted: (): number => monitor.fleet.evicted,
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
    // With listener Workers, they serve the TLS board port too.
    if (options.tls && !(listener instanceof ListenerWorkers)) {
      tls = listenTls(hostname, options.tls.port, options.tls);
    }
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
    // A device the fleet forgets takes its update state along: ids clients make up stay bounded.
    monitor.fleet.onForget = (id) => updates.forget(id);
    updates.forgotten = (id) => monitor.fleet.isForgotten(id);
    // The operator hears of devices dropped at the cap: they leave the views and their updates.
    monitor.fleet.onEvict = (count, lastSeen) =>
      log.warn("fleet registry full: devices heard from least recently forgotten", {
        devices: count,
        last_seen: new Date(lastSeen).toISOString(),
        max_devices: options.maxDevices,
      });
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
      const deps = httpDeps({
        serving,
        watcher,
        ready: () => server!.ready(),
        live: () => server!.live(),
        log,
        maxBatch: options.maxBatch,
        maxBodyBytes: options.maxHttpBody,
        bodyReading: { timeoutMs: options.httpBodyTimeoutMs, budget: httpBudget(server.limits) },
        handler: server.handler,
        rollouts: server.rollouts,
        trustedProxies: options.trustedProxies ?? null,
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
      });
      const http = { hostname, port: httpPort, tls: options.httpTls };
      // With listener Workers they take the HTTP port's connections too.
      server.http = listener instanceof ListenerWorkers
        ? await serveHttpOnListeners(listener, deps, http)
        : startHttp(deps, http);
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
        firmwareOf: (device) => monitor.fleet.firmwareOf(device),
      });
      if (mqtt instanceof Error) throw mqtt;
      server.mqtt = mqtt;
    }
    return server;
  } catch (e) {
    if (server) await server.shutdown();
    else {
      monitor.close();
      if (listener instanceof ListenerWorkers) await listener.shutdown();
      else listener.close();
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

/** The folder of a file path (editors replace files by renaming, so the folder is watched). */
function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
}

/**
 * Warms the request path for `budgetMs` before the server is announced (its
 * start line, its readiness): uncounted, and the queue's figures reset after.
 * A warm-up that gave up on a slow engine left digits in the queues: they
 * are waited for (at most `SETTLE_MS`), so that they are neither counted
 * nor in the first client's way.
 */
async function warmServer(server: InferenceServer, budgetMs: number): Promise<void> {
  server.monitor.warmUpStarted();
  try {
    const http = server.http?.addr as Deno.NetAddr | undefined;
    const report = await warmUp(
      { board: server.addr, http: http ?? null, model: server.queue.model },
      budgetMs,
    );
    server.log.debug("warmed up", { ...report, ms: report.ms.toFixed(0) });
    const left = await settle(server.serving.models.map((model) => model.queue));
    if (left > 0) {
      server.log.warn("the warm-up's digits are still in the engines; starting anyway", {
        digits: left,
      });
    }
  } finally {
    server.monitor.warmUpEnded();
    for (const model of server.serving.models) model.queue.resetFigures();
  }
}
