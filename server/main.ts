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
import { AuthConfigError, createAuthorizer } from "./auth/config.ts";
import { ConfigError, resolveConfig, usage } from "./config.ts";
import { EngineError } from "./engine/engine.ts";
import { Logger } from "./log.ts";
import { DigitCapture } from "./models/capture.ts";
import { ModelError } from "./models/model.ts";
import { NoDefaultModelError } from "./models/serving.ts";
import { startServer } from "./server.ts";
import { readTlsFiles, TlsError } from "./tls/tls.ts";

/** One sentence on stderr and exit 2: a user's mistake, never a stack trace. */
function fail(message: string): never {
  console.error(`error: ${message}`);
  Deno.exit(2);
}

/** Turns what `Deno.listen` throws into a sentence that names the address and says what to do. */
function listenProblem(e: unknown, host: string, port: number): string | null {
  const where = `${host}:${port}`;
  if (e instanceof Deno.errors.AddrInUse) {
    return `port ${port} is already in use (${where}); stop the other server or pass --port`;
  }
  if (e instanceof Deno.errors.AddrNotAvailable) {
    return `cannot listen on ${where}: ${host} is not an address of this machine; pass --host`;
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return `not allowed to listen on ${where} (ports below 1024 need privileges); pass --port`;
  }
  if (e instanceof Error && /(invalid|failed to lookup|name or service)/i.test(e.message)) {
    return `cannot listen on ${where}: ${e.message}; pass --host with an address of this machine`;
  }
  return null;
}

const config = resolveConfig(Deno.args, Deno.env.toObject());
if (config === "help") {
  console.log(usage());
  Deno.exit(0);
}
if (config instanceof ConfigError) fail(config.message);

const log = new Logger(config.logLevel, undefined, config.logFormat);

let server;
let auth;
let capture: DigitCapture | null = null;
try {
  if (config.models.capture) capture = await DigitCapture.open({ ...config.models.capture, log });
  auth = await createAuthorizer(
    { tokens: config.tokens, legacy: config.legacy, legacyFrom: config.legacyFrom },
    log,
  );
  const tlsFiles = config.tlsCert && config.tlsKey
    ? await readTlsFiles(config.tlsCert, config.tlsKey)
    : null;
  server = await startServer({
    auth,
    httpPort: config.noHttp ? null : config.httpPort,
    httpTls: tlsFiles ?? undefined,
    metricsToken: config.metricsToken,
    adminToken: config.models.adminToken,
    tls: tlsFiles && config.tlsPort !== undefined
      ? { ...tlsFiles, port: config.tlsPort }
      : undefined,
    hostname: config.host,
    port: config.port,
    model: config.models.file ?? undefined,
    modelRepository: config.models.repository ?? undefined,
    defaultModel: config.models.defaultModel,
    verifyChecksum: !config.models.allowChecksumMismatch,
    watch: true,
    sighup: true,
    pollSeconds: config.models.pollSeconds,
    capture: capture ?? undefined,
    engine: config.engine,
    instances: config.instancesCount,
    threads: config.threads,
    maxBatch: config.maxBatch,
    batchMs: config.batchMs,
    maxQueued: config.maxQueued,
    maxFrame: config.maxFrame,
    maxLegacy: config.maxLegacy,
    maxHttpBody: config.maxHttpBody,
    maxPipelined: config.maxPipelined,
    maxConnections: config.maxConnections,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    maxBufferedBytes: config.maxBufferedBytes,
    minQueueShare: config.minQueueShare,
    trustedProxies: config.trustedProxies ?? null,
    messageTimeoutMs: config.messageTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    writeTimeoutMs: config.writeTimeoutMs,
    runTimeoutMs: config.runTimeoutMs,
    log,
  });
} catch (e) {
  if (
    e instanceof ModelError || e instanceof EngineError || e instanceof AuthConfigError ||
    e instanceof TlsError || e instanceof NoDefaultModelError
  ) {
    fail(e.message);
  }
  const problem = listenProblem(e, config.host, config.port);
  if (problem) fail(problem);
  throw e;
}
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  // Readiness turns 503 at once; a load balancer moves traffic during the drain.
  server.drain();
  log.info("draining", { signal, seconds: config.drainSeconds, in_flight: server.queued });
  if (signal === "SIGTERM" && config.drainSeconds > 0) {
    await new Promise((resolve) => setTimeout(resolve, config.drainSeconds * 1000));
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
const httpAddr = server.http && `${server.http.addr.hostname}:${server.http.addr.port}`;
console.log(log.format(
  "info",
  `mnist-server ${server.describe()}`,
  config.logFormat === "json"
    ? {
      address: `${server.addr.hostname}:${server.addr.port}`,
      http: httpAddr ?? undefined,
      model: server.model.path,
      version: server.model.version,
      checksum: server.model.checksum,
    }
    : undefined,
));
if (server.model.checksum !== "verified") {
  log.warn("model checksum not verified", { model: server.model.path, why: server.model.checksum });
}
await server.finished;
