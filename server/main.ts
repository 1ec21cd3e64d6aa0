/**
 * `deno task serve`: runs the inference server.
 *
 * @example
 * ```sh
 * deno task serve                       # boards on 0.0.0.0:32001, HTTP on 8000, bundled model
 * deno task serve --port 0              # free ports, named on the start line
 * MNIST_LOG_LEVEL=debug deno task serve --instances 2
 * deno task serve --help
 * ```
 * @module
 */
import { exitWithError, exitWithUsage } from "../cli/args.ts";
import { AuthConfigError, createAuthorizer } from "./auth/config.ts";
import { usage } from "./config_help.ts";
import {
  ConfigError,
  resolveConfig,
  type ServerConfig,
  tableServerOptions,
} from "./config_resolve.ts";
import { EngineError } from "./engine/engine.ts";
import { Logger } from "./log.ts";
import { ListenerStartError } from "./listeners/worker_start.ts";
import { CaptureError, DigitCapture } from "./capture/capture.ts";
import { ModelError } from "./models/model.ts";
import { NoDefaultModelError } from "./models/serving.ts";
import { startServer } from "./server.ts";
import { readTlsFiles, TlsError } from "./tls/tls.ts";
import { loadMqtt, MqttLibraryError } from "./mqtt/library.ts";
import { MqttSettingsError, readMqttFiles } from "./mqtt/settings.ts";

const TASK = "serve";

/** The ports the server opens, with the flag of each, in the order it opens them. */
function ports(config: ServerConfig): [flag: string, port: number][] {
  const list: [string, number][] = [["--port", config.port]];
  if (config.tlsPort !== undefined) list.push(["--tls-port", config.tlsPort]);
  if (!config.noHttp) list.push(["--http-port", config.httpPort]);
  return list;
}

/**
 * The port that cannot be bound, found by trying each in turn: the error
 * `Deno.listen` throws does not say which of the server's ports it was.
 */
function takenPort(config: ServerConfig): [flag: string, port: number] | null {
  for (const [flag, port] of ports(config)) {
    if (port === 0) continue;
    try {
      Deno.listen({ hostname: config.host, port }).close();
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) return [flag, port];
    }
  }
  return null;
}

/** Turns what a listen throws into a sentence that names the address, its flag and what to do. */
function listenProblem(e: unknown, config: ServerConfig): string | null {
  const host = config.host;
  if (e instanceof Deno.errors.AddrInUse) {
    const taken = takenPort(config);
    if (!taken) return `a port is already in use (${e.message}); stop the other server`;
    const [flag, port] = taken;
    return `port ${port} is already in use (${host}:${port}); stop the other server or pass ${flag}`;
  }
  const all = ports(config).map(([, port]) => port).join(", ");
  if (e instanceof Deno.errors.AddrNotAvailable) {
    return `cannot listen on ${host} (ports ${all}): ${host} is not an address of this machine; pass --host`;
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    const low = ports(config).find(([, port]) => port > 0 && port < 1024);
    return low
      ? `not allowed to listen on ${host}:${low[1]} (ports below 1024 need privileges); pass ${
        low[0]
      }`
      : `not allowed to listen on ${host}: ${e.message}`;
  }
  if (e instanceof Error && /(invalid|failed to lookup|name or service)/i.test(e.message)) {
    return `cannot listen on ${host}: ${e.message}; pass --host with an address of this machine`;
  }
  return null;
}

const resolved = resolveConfig(Deno.args, Deno.env.toObject());
if (resolved === "help") {
  console.log(usage());
  Deno.exit(0);
}
if (resolved instanceof ConfigError) exitWithUsage(TASK, resolved.message);
const config: ServerConfig = resolved;
// A mistyped --firmware-dir would start a server that offers no release, with one WARN line.
if (config.firmwareDir && !isFolder(config.firmwareDir)) {
  exitWithError(
    TASK,
    `--firmware-dir ${config.firmwareDir} is not a folder: build a release into it first ` +
      "(deno task build --release DIR)",
  );
}

const log = new Logger(config.logLevel, undefined, config.logFormat);

let server;
let auth;
let capture: DigitCapture | null = null;
try {
  if (config.captureSettings) capture = await DigitCapture.open({ ...config.captureSettings, log });
  auth = await createAuthorizer(
    { tokens: config.tokens, legacy: config.legacy, legacyFrom: config.legacyFrom },
    log,
  );
  const tlsFiles = config.tlsCert && config.tlsKey
    ? await readTlsFiles(config.tlsCert, config.tlsKey)
    : null;
  const mqtt = config.mqttSettings ? await readMqttFiles(config.mqttSettings) : undefined;
  // Before the models load: a missing client package is said at once.
  const library = mqtt ? loadMqtt() : null;
  if (library instanceof MqttLibraryError) throw library;
  server = await startServer({
    // Every row of the option table marked `server` goes as it is; the rest are made here.
    ...tableServerOptions(config),
    hostname: config.host,
    httpPort: config.noHttp ? null : config.httpPort,
    instances: config.instancesCount,
    threads: config.threadsCount,
    verifyChecksum: !config.allowChecksumMismatch,
    trustedProxies: config.trustedProxies ?? null,
    auth,
    httpTls: tlsFiles ?? undefined,
    tls: tlsFiles && config.tlsPort !== undefined
      ? { ...tlsFiles, port: config.tlsPort }
      : undefined,
    capture: capture ?? undefined,
    mqtt,
    watch: true,
    sighup: true,
    log,
  });
} catch (e) {
  if (
    e instanceof ModelError || e instanceof EngineError || e instanceof AuthConfigError ||
    e instanceof TlsError || e instanceof NoDefaultModelError || e instanceof MqttSettingsError ||
    e instanceof MqttLibraryError || e instanceof CaptureError || e instanceof ListenerStartError
  ) {
    exitWithError(TASK, e.message);
  }
  const problem = listenProblem(e, config);
  if (problem) exitWithError(TASK, problem);
  throw e;
}
let stopping = false;
const stop = async (signal: "SIGINT" | "SIGTERM") => {
  if (stopping) return;
  stopping = true;
  // Readiness turns 503 at once; during SIGTERM's drain a load balancer moves traffic away.
  server.drain();
  if (signal === "SIGTERM" && config.drainSeconds > 0) {
    log.info("draining", { signal, seconds: config.drainSeconds, in_flight: server.queued });
    await new Promise((resolve) => setTimeout(resolve, config.drainSeconds * 1000));
  } else {
    // SIGINT (Ctrl-C) is a person at a terminal: stop now, answering only what is in flight.
    log.info("stopping without a drain", { signal, in_flight: server.queued });
  }
  await server.shutdown();
  await auth.close();
  await capture?.close();
  log.info("stopped", { served: server.served });
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));

// The start line: programs read it from stdout line 1 (under json, from its fields too). It is
// printed after the signal handlers are in place, since a program may stop the server at once.
console.log(log.format(
  "info",
  `mnist-server ${server.describe()}`,
  config.logFormat === "json" ? server.startFacts() : undefined,
));
if (server.model.checksum !== "verified") {
  log.warn("model checksum not verified", { model: server.model.path, why: server.model.checksum });
}
await server.finished;

/** Whether `path` is a folder this process can see. */
function isFolder(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
