/**
 * The server's option table: every option of `deno task serve` with its
 * default, group and help, each settable by a flag (`--max-batch 64`) or an
 * environment variable (`MNIST_MAX_BATCH=64`); flags win. It is the one place
 * a default is written: `--help`, `docs/configuration.md`, the command line
 * (`config_resolve.ts`) and `startServer()` (`serverDefaults()`) all read it.
 *
 * @example
 * ```ts
 * import { envName, serverDefaults } from "./config.ts";
 *
 * console.log(serverDefaults().maxBatch, envName("max-batch")); // 128 MNIST_MAX_BATCH
 * ```
 * @module
 */
import { ENGINE_KINDS, type EngineKind } from "./engine/kinds.ts";
import { LOG_FORMATS, LOG_LEVELS } from "./log.ts";
import { MIN_OPERATOR_TOKEN } from "./auth/bearer.ts";

/** The groups of `--help` and of docs/configuration.md, in their order. */
export const GROUPS = {
  essentials: "Ports, model and engine",
  limits: "Limits and timeouts",
  trust: "Trust: tokens, TLS, proxies",
  models: "Model repository and capture",
  rollouts: "Shadow, canary and rollback",
  mqtt: "MQTT broker",
  fleet: "Fleet: devices",
  logging: "Logging",
} as const;
export type Group = keyof typeof GROUPS;

/** What values an option takes. */
export type Kind =
  | { type: "string" }
  | { type: "int"; min: number; max?: number }
  | { type: "number"; min: number; max: number }
  | { type: "enum"; values: readonly string[] }
  | { type: "boolean" };

/** One row of the table. */
export interface OptionSpec {
  flag: string;
  kind: Kind;
  group: Group;
  /** The default as a flag value would spell it; absent: unset. */
  default?: string;
  /** How help and docs show a default that depends on the machine (a path, a core count). */
  shown?: string;
  /** `startServer()`'s default where it differs from the command line's (`serverDefaults()`). */
  library?: string;
  /** `startServer()` takes this option under its camel-cased name, as is. */
  server?: true;
  /** One line for `--help`. */
  help: string;
  /** More for docs/configuration.md. */
  details?: string;
  /** How the help spells the value (default: from the kind). */
  value?: string;
}

const PORT = { type: "int", min: 0, max: 65535 } as const;
const BYTES = { type: "int", min: 64, max: 16 * 1024 * 1024 } as const;

/** Every option of `deno task serve`, grouped as `--help` lists them. */
export const OPTIONS = [
  {
    flag: "host",
    kind: { type: "string" },
    group: "essentials",
    default: "0.0.0.0",
    help: "address to listen on",
  },
  {
    flag: "port",
    kind: PORT,
    group: "essentials",
    server: true,
    default: "32001",
    help: "board port (legacy and framed); 0 picks a free one and implies --http-port 0",
  },
  {
    flag: "http-port",
    kind: PORT,
    group: "essentials",
    server: true,
    default: "8000",
    help: "HTTP port (Open Inference Protocol, health, metrics, dashboard); 0 picks a free one",
  },
  {
    flag: "no-http",
    kind: { type: "boolean" },
    group: "essentials",
    help: "do not open the HTTP port",
  },
  {
    flag: "model-repository",
    kind: { type: "string" },
    group: "essentials",
    server: true,
    default: new URL("../models", import.meta.url).pathname,
    shown: "models/ of this checkout",
    value: "DIR",
    help: "models as DIR/NAME/VERSION/model.onnx and model.json",
    details: "each model serves its highest valid version",
  },
  {
    flag: "model",
    kind: { type: "string" },
    group: "essentials",
    server: true,
    value: "FILE",
    help: "serve one ONNX file as the default model, version 1, instead of a repository",
  },
  {
    flag: "default-model",
    kind: { type: "string" },
    group: "essentials",
    server: true,
    default: "mnist",
    value: "NAME",
    help: "the model for requests that name none, and for legacy ones",
  },
  {
    flag: "engine",
    kind: { type: "enum", values: ENGINE_KINDS },
    group: "essentials",
    server: true,
    default: "wasm",
    help: "wasm (onnxruntime-web) or native (onnxruntime-node, faster)",
    details:
      "native needs `deno task install:native` once, then `deno task serve:native` (it adds --allow-ffi)",
  },
  {
    flag: "instances",
    kind: { type: "string" },
    group: "essentials",
    default: "auto",
    library: "1",
    value: "K|auto",
    help: "engine instances, each running one batch at a time",
    details: "auto: WASM one per core (at most 16), native one",
  },
  {
    flag: "listeners",
    kind: { type: "int", min: 1, max: 64 },
    group: "essentials",
    server: true,
    default: "1",
    help: "listener Workers sharing the ports' socket work; above 1 needs --unstable-net",
    details: "1: the main thread serves the board and HTTP ports. N: N Workers each listen on " +
      "the board port, its TLS port and the HTTP port (`reusePort`; run " +
      "`deno run --unstable-net`), read and frame what comes (HTTP inference bodies read and " +
      "split too), and forward requests to the one handler on the main thread",
  },
  {
    flag: "threads",
    kind: { type: "string" },
    group: "essentials",
    default: "auto",
    library: "1",
    value: "K|auto",
    help: "runtime threads per instance",
    details: "auto: WASM 1 (independent instances scale better), native one per core (at most 4)",
  },
  {
    flag: "max-batch",
    kind: { type: "int", min: 1, max: 4096 },
    group: "limits",
    server: true,
    default: "128",
    help: "most digits in one engine run",
  },
  {
    flag: "batch-ms",
    kind: { type: "int", min: 0, max: 10_000 },
    group: "limits",
    server: true,
    default: "3",
    value: "MS",
    help: "run length batches aim for while a client queues ahead; 0: off",
    details:
      "batches shrink below --max-batch and one core is left to the event loop, so a board beside a flood waits little",
  },
  {
    flag: "max-queued",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "4096",
    help: "most digits waiting for a run; more get SERVER_BUSY",
  },
  {
    flag: "max-frame",
    kind: BYTES,
    group: "limits",
    server: true,
    default: String(16 * 1024),
    value: "BYTES",
    help: "largest framed request; larger gets FRAME_TOO_LARGE",
  },
  {
    flag: "max-legacy",
    kind: BYTES,
    group: "limits",
    server: true,
    default: String(64 * 1024),
    value: "BYTES",
    help: "largest legacy request; larger gets FRAME_TOO_LARGE",
  },
  {
    flag: "max-http-body",
    kind: { type: "int", min: 1024, max: 256 * 1024 * 1024 },
    group: "limits",
    server: true,
    default: String(4 * 1024 * 1024),
    value: "BYTES",
    help: "largest HTTP request body (after inflating), limited while it is read; larger gets 413",
  },
  {
    flag: "http-body-timeout-ms",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "30000",
    value: "MS",
    help: "an HTTP request's body must arrive within this of its headers",
    details: "else 400 MALFORMED_BUFFER; a client that stops or drips mid-body is let go",
  },
  {
    flag: "max-pipelined",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "256",
    help: "replies a framed client may have outstanding before the server stops reading it",
  },
  {
    flag: "max-connections",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "10000",
    // Deno raises its soft file limit to the hard one at start, so this cap, not the file limit,
    // is what a crowd meets: refused with a reply. Past a lower `ulimit -n`, the listener's
    // reserve descriptor still accepts and closes.
    help: "board connections served at once; more get SERVER_BUSY and a close",
    details: "keep it below `ulimit -n`",
  },
  {
    flag: "max-connections-per-address",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "1024",
    help: "board connections from one client address (a NAT gateway fronts many boards)",
  },
  {
    flag: "max-buffered-bytes",
    kind: { type: "int", min: 65536 },
    group: "limits",
    server: true,
    default: String(64 * 1024 * 1024),
    value: "BYTES",
    help: "memory for unfinished messages of all connections: board messages and HTTP bodies",
    details:
      "past it, a board connection adding to it is cut; HTTP bodies may hold half of it, past that 503 SERVER_BUSY",
  },
  {
    flag: "min-queue-share",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "16",
    help: "digits a board connection may always have queued",
    details: "however many connections share the queue",
  },
  {
    flag: "message-timeout-ms",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "5000",
    value: "MS",
    help: "a whole message must arrive within this from its first byte",
    details: "else MALFORMED_BUFFER and a close; a silent legacy connection is closed after it too",
  },
  {
    flag: "idle-timeout-ms",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: String(15 * 60_000),
    value: "MS",
    help: "a framed connection silent this long between messages is closed",
    details: "boards may poll rarely",
  },
  {
    flag: "write-timeout-ms",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "10000",
    value: "MS",
    help: "a connection whose replies make no write progress this long is closed",
  },
  {
    flag: "listener-timeout-ms",
    kind: { type: "int", min: 10 },
    group: "limits",
    server: true,
    default: "5000",
    value: "MS",
    help: "a listener Worker whose event loop shows no sign of life this long is replaced",
    details: "with --listeners above 1: each Worker is asked five times per limit; its " +
      "connections are dropped, and a new Worker serves in its place; one that loaded its code " +
      "but does not answer its bind within it is given up too",
  },
  {
    flag: "run-timeout-ms",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "2000",
    value: "MS",
    help: "an engine run without progress this long fails; its worker is replaced",
    details: "the run's requests get INTERNAL_ERROR",
  },
  {
    flag: "warm-up-ms",
    kind: { type: "int", min: 0, max: 60_000 },
    group: "limits",
    server: true,
    default: "3000",
    library: "0",
    value: "MS",
    help: "before the start line, send the request path real requests this long; 0: off",
    details:
      "the JIT compiles the path before the first client, so a fresh server serves at its warm rate from its first second; not ready meanwhile, and none of it is counted",
  },
  {
    flag: "drain-seconds",
    kind: { type: "int", min: 0 },
    group: "limits",
    default: "5",
    value: "S",
    help: "on SIGTERM, serve this long with readiness 503, then stop",
    details: "SIGINT stops without this wait; both answer what is in flight",
  },
  {
    flag: "tokens",
    kind: { type: "string" },
    group: "trust",
    value: "FILE",
    help: "device tokens, one `NAME SHA256HEX` line each (deno task token NAME)",
    details: "reloaded on change; framed requests and HTTP infer then need a token",
  },
  {
    flag: "legacy",
    kind: { type: "enum", values: ["allow", "deny"] },
    group: "trust",
    default: "allow",
    help: "whether legacy clients, which cannot carry a token, are served",
  },
  {
    flag: "legacy-from",
    kind: { type: "string" },
    group: "trust",
    value: "CIDR,...",
    help: "serve legacy clients only from these IPv4/IPv6 ranges",
  },
  {
    flag: "admin-token",
    kind: { type: "string" },
    group: "trust",
    server: true,
    value: "TOKEN",
    help:
      `bearer token (at least ${MIN_OPERATOR_TOKEN} characters) for every change and the operator views`,
    details:
      `changes: POST /v2/repository/index and models/NAME/load|unload, POST /v2/fleet/releases and /v2/fleet/rollouts..., and a model's shadow, canary, promote and rollback; the variable keeps it out of ps; unset: changes answer 403`,
  },
  {
    flag: "metrics-token",
    kind: { type: "string" },
    group: "trust",
    server: true,
    value: "TOKEN",
    help:
      `when set, GET /metrics needs it as a bearer token (at least ${MIN_OPERATOR_TOKEN} characters)`,
  },
  {
    flag: "operator-token",
    kind: { type: "string" },
    group: "trust",
    server: true,
    value: "TOKEN",
    help:
      `bearer token (at least ${MIN_OPERATOR_TOKEN} characters) for the read-only operator views`,
    details:
      `GET /dashboard.json, /v2/models/NAME/stats, /v2/fleet/... and a model's shadow and canary figures; the admin token opens them too; with neither, they are open while device tokens are off and 403 while they are on`,
  },
  {
    flag: "tls-cert",
    kind: { type: "string" },
    group: "trust",
    value: "FILE",
    help: "PEM certificate chain for TLS on the HTTP port and --tls-port",
  },
  {
    flag: "tls-key",
    kind: { type: "string" },
    group: "trust",
    value: "FILE",
    help: "PEM private key of --tls-cert",
  },
  {
    flag: "tls-port",
    kind: PORT,
    group: "trust",
    help: "a second board port inside TLS (ESP32, desktop clients); 0: a free one",
    details: "the ESP8266 cannot speak TLS",
  },
  {
    flag: "trusted-proxy",
    kind: { type: "string" },
    group: "trust",
    value: "CIDR,...",
    help: "peers whose PROXY v2 header (board port) or X-Forwarded-For (HTTP) names the client",
    details: "HAProxy's send-proxy-v2 and option forwardfor",
  },
  {
    flag: "allow-checksum-mismatch",
    kind: { type: "boolean" },
    group: "models",
    help: "serve versions whose sha256 is missing or differs",
    details: "or that have no metadata; the start line says so",
  },
  {
    flag: "poll-seconds",
    kind: { type: "int", min: 0, max: 86_400 },
    group: "models",
    server: true,
    default: "0",
    value: "S",
    help: "also rescan the repository every S seconds (NFS); 0: never",
    details: "file events, SIGHUP and HTTP load rescan anyway",
  },
  {
    flag: "capture",
    kind: { type: "string" },
    group: "models",
    value: "DIR",
    help: "keep the digits --capture-rule picks in DIR, for labelling and retraining",
    details: "with the device and the scores of every version that saw each digit",
  },
  {
    flag: "capture-rule",
    kind: { type: "string" },
    group: "models",
    default: "below:0.5,disagree,sample:0.01",
    value: "RULE",
    help: "which digits --capture keeps: terms joined by commas, any one keeps a digit",
    details:
      "below:C the answer's score is below C; disagree a shadow candidate answered another " +
      "digit; sample:R a random share R of all digits",
  },
  {
    flag: "capture-max-mb",
    kind: { type: "int", min: 1, max: 1_000_000 },
    group: "models",
    default: "100",
    value: "MB",
    help: "most megabytes of captures kept; past it the oldest files are deleted",
  },
  {
    flag: "shadow-sample",
    kind: { type: "number", min: 0, max: 1 },
    group: "rollouts",
    server: true,
    default: "0.1",
    value: "R",
    help: "fraction of live digits a shadow candidate also runs, when its engines are idle",
    details: "`POST /v2/models/{m}/shadow` may give its own `sample`",
  },
  {
    flag: "low-confidence",
    kind: { type: "number", min: 0, max: 1 },
    group: "rollouts",
    server: true,
    default: "0.5",
    value: "P",
    help: "an answer whose top score is below P counts as low-confidence in rollout figures",
  },
  {
    flag: "shadow-min-agreement",
    kind: { type: "number", min: 0, max: 1 },
    group: "rollouts",
    server: true,
    default: "0.99",
    value: "A",
    help: "roll a shadow back when its argmax agreement falls below A; 0: never",
  },
  {
    flag: "canary-max-error-rate",
    kind: { type: "number", min: 0, max: 1 },
    group: "rollouts",
    server: true,
    default: "0.01",
    value: "E",
    help: "roll a canary back when the candidate fails more than E of its requests; 1: never",
    details: "failures: INTERNAL_ERROR and MODEL_UNAVAILABLE replies",
  },
  {
    flag: "canary-max-low-confidence-ratio",
    kind: { type: "number", min: 0, max: 1000 },
    group: "rollouts",
    server: true,
    default: "2",
    value: "X",
    help:
      "roll a canary back when its low-confidence rate exceeds X times the serving version's; 0: never",
  },
  {
    flag: "rollout-min-samples",
    kind: { type: "int", min: 1, max: 1_000_000_000 },
    group: "rollouts",
    server: true,
    default: "200",
    value: "N",
    help:
      "the rules above judge a shadow or canary only after N digits (compared, or each version's)",
  },
  {
    flag: "mqtt",
    kind: { type: "string" },
    group: "mqtt",
    value: "URL",
    help: "also serve requests through this broker: mqtt://HOST[:PORT] or mqtts://HOST[:PORT]",
    details:
      "requests on mnist/DEVICE/infer, replies on mnist/DEVICE/result; needs `deno task install:mqtt` once",
  },
  {
    flag: "mqtt-group",
    kind: { type: "string" },
    group: "mqtt",
    default: "mnist",
    value: "NAME",
    help: "shared subscription group: servers of one group split the requests",
  },
  {
    flag: "mqtt-ca",
    kind: { type: "string" },
    group: "mqtt",
    value: "FILE",
    help: "PEM certificate of the CA that signed the broker's (mqtts://)",
  },
  {
    flag: "mqtt-username",
    kind: { type: "string" },
    group: "mqtt",
    value: "NAME",
    help: "user name at the broker",
  },
  {
    flag: "mqtt-password",
    kind: { type: "string" },
    group: "mqtt",
    value: "SECRET",
    help: "password at the broker",
    details: "the variable or --mqtt-password-file keeps it out of ps",
  },
  {
    flag: "mqtt-password-file",
    kind: { type: "string" },
    group: "mqtt",
    value: "FILE",
    help: "file whose first line is the password at the broker",
  },
  {
    flag: "mqtt-client-id",
    kind: { type: "string" },
    group: "mqtt",
    value: "ID",
    help: "client id at the broker; unset: mnist-server- and a random suffix",
  },
  {
    flag: "device-silent-after",
    kind: { type: "number", min: 0.01, max: 31_536_000 },
    group: "fleet",
    server: true,
    default: "600",
    value: "S",
    help: "a device with no request for S seconds shows as silent in the fleet views",
    details: "like ThingsBoard's inactivity timeout; `mnist_devices{state}` counts both states",
  },
  {
    flag: "device-forget-after",
    kind: { type: "number", min: 0.01, max: 315_360_000 },
    group: "fleet",
    server: true,
    default: "604800",
    value: "S",
    help: "a device with no request for S seconds (7 days) is forgotten",
  },
  {
    flag: "max-devices",
    kind: { type: "int", min: 1, max: 10_000_000 },
    group: "fleet",
    server: true,
    default: "100000",
    value: "N",
    help: "devices the fleet registry keeps; past it, the tenth heard from least recently go",
    details: "a bound on memory against clients that make up device ids (about 1 KB a device)",
  },
  {
    flag: "firmware-dir",
    kind: { type: "string" },
    group: "fleet",
    server: true,
    value: "DIR",
    help:
      "board code releases as DIR/NAME/VERSION/firmware.js and release.json, offered by rollouts",
    details:
      "`deno task build --release DIR` writes them; watched like the model repository; a release whose file does not match its release.json is refused and logged; unset: no code updates",
  },
  {
    flag: "rollout-max-failures",
    kind: { type: "int", min: 0, max: 1_000_000 },
    group: "fleet",
    server: true,
    default: "2",
    value: "N",
    help: "a code rollout pauses by itself when more than N of its devices fail or roll back",
  },
  {
    flag: "rollout-per-minute",
    kind: { type: "int", min: 1, max: 1_000_000 },
    group: "fleet",
    server: true,
    default: "100",
    value: "N",
    help: "a code rollout's pace when it names none: devices newly offered an update per minute",
    details: "like ThingsBoard's OTA pace; `POST /v2/fleet/rollouts` takes `per_minute`",
  },
  {
    flag: "log-level",
    kind: { type: "enum", values: LOG_LEVELS },
    group: "logging",
    default: "info",
    help: "per-request lines at debug",
  },
  {
    flag: "log-format",
    kind: { type: "enum", values: LOG_FORMATS },
    group: "logging",
    default: "plain",
    help: "plain `TIME LEVEL message key=value` lines, or JSON, one object a line",
    details: "the start line too",
  },
] as const satisfies readonly OptionSpec[];

/** Every flag of the table. */
export type Flag = typeof OPTIONS[number]["flag"];
/** `max-batch` → `maxBatch`. */
export type Camel<S extends string> = S extends `${infer A}-${infer B}`
  ? `${A}${Capitalize<Camel<B>>}`
  : S;
type Spec<F extends Flag> = Extract<typeof OPTIONS[number], { flag: F }>;
type ValueOf<O> = O extends { kind: { type: "int" | "number" } } ? number
  : O extends { kind: { type: "boolean" } } ? boolean
  : O extends { kind: { type: "enum"; values: readonly (infer V)[] } } ? V
  : string;
type DefaultedFlag = Extract<typeof OPTIONS[number], { default: string }>["flag"];
type ServerFlag = Extract<typeof OPTIONS[number], { server: true }>["flag"];

/** Every option's value by its camel-cased name; unset options without a default are undefined. */
export type OptionValues = {
  [F in Flag as Camel<F>]: F extends
    DefaultedFlag | Extract<Spec<F>, { kind: { type: "boolean" } }>["flag"] ? ValueOf<Spec<F>>
    : ValueOf<Spec<F>> | undefined;
};

/** The options `startServer()` takes under the table's own names (rows marked `server`). */
export type TableServerOptions = { [F in ServerFlag as Camel<F>]?: ValueOf<Spec<F>> };

/** The table's defaults as `startServer()` applies them when a program leaves an option out. */
export type ServerDefaults =
  & { [F in Extract<ServerFlag, DefaultedFlag> as Camel<F>]: ValueOf<Spec<F>> }
  & {
    hostname: string;
    instances: number;
    threads: number;
    verifyChecksum: boolean;
    logLevel: ValueOf<Spec<"log-level">>;
    logFormat: ValueOf<Spec<"log-format">>;
  };

/** The environment variable of a flag: `--http-port` → `MNIST_HTTP_PORT`. */
export function envName(flag: string): string {
  return "MNIST_" + flag.toUpperCase().replaceAll("-", "_");
}

/** `--max-batch` → `maxBatch`. */
export function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The number of instances `--instances auto` picks. WASM: one single-threaded
 * instance per core (at most 16): independent instances scale where WASM
 * threads do not, and threads risk onnxruntime-web's start-up hang. Native:
 * one, since one instance already runs near what the event loop feeds it and
 * a second only takes a core from it (bench/README.md has the figures); its
 * threads spread the runs instead (`autoThreads`).
 */
export function autoInstances(
  engine: EngineKind = "wasm",
  cores = navigator.hardwareConcurrency,
): number {
  if (engine === "native") return 1;
  return Math.max(1, Math.min(cores, 16));
}

/** The most threads `--threads auto` gives a native instance: a batch of 28×28 digits splits no finer. */
export const NATIVE_AUTO_THREADS = 4;

/**
 * The threads per instance `--threads auto` picks for `instances` instances.
 * WASM: one (see `autoInstances`). Native: the cores shared among the
 * instances, at most `NATIVE_AUTO_THREADS` each: onnxruntime's own thread pool
 * splits each batch's convolutions, which beats the same cores as separate
 * instances for the native engine (docs/performance.md, "Instances, threads and
 * engines").
 */
export function autoThreads(
  engine: EngineKind,
  instances: number,
  cores = navigator.hardwareConcurrency,
): number {
  if (engine !== "native") return 1;
  return Math.max(1, Math.min(NATIVE_AUTO_THREADS, Math.floor(cores / instances)));
}

/** A row's default as its value (`"128"` → 128); `library` instead when asked. */
export function defaultValue(
  spec: OptionSpec,
  forLibrary = false,
): string | number | boolean | undefined {
  const text = forLibrary && spec.library !== undefined ? spec.library : spec.default;
  if (spec.kind.type === "boolean") return text === "true";
  if (text === undefined) return undefined;
  return spec.kind.type === "int" || spec.kind.type === "number" ? Number(text) : text;
}

/** One row's default as its value, for a module that takes that option under its own name. */
export function tableDefault<F extends DefaultedFlag>(flag: F): ValueOf<Spec<F>> {
  const spec = (OPTIONS as readonly OptionSpec[]).find((row) => row.flag === flag)!;
  return defaultValue(spec) as ValueOf<Spec<F>>;
}

let defaults: Readonly<ServerDefaults> | null = null;

/**
 * What `startServer()` uses for an option a program leaves out: the table's
 * defaults of the rows it takes (and `library` where a row has one), computed
 * once.
 */
export function serverDefaults(): Readonly<ServerDefaults> {
  if (defaults) return defaults;
  const rows = OPTIONS as readonly OptionSpec[];
  const row = (flag: Flag) => defaultValue(rows.find((spec) => spec.flag === flag)!, true);
  const values: Record<string, unknown> = {
    hostname: row("host"),
    instances: Number(row("instances")),
    threads: Number(row("threads")),
    verifyChecksum: !row("allow-checksum-mismatch"),
    logLevel: row("log-level"),
    logFormat: row("log-format"),
  };
  for (const spec of rows) {
    if (spec.server && spec.default !== undefined) {
      values[camel(spec.flag)] = defaultValue(spec, true);
    }
  }
  defaults = Object.freeze(values as ServerDefaults);
  return defaults;
}
