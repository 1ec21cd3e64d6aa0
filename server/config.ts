/**
 * The server's one resolved configuration: every default and limit in one
 * table, each settable by a flag (`--max-batch 64`) or an environment
 * variable (`MNIST_MAX_BATCH=64`); flags win. `--help` is made from the same
 * table, so what it says is what the server does.
 *
 * @example
 * ```ts
 * import { resolveConfig } from "./config.ts";
 *
 * const config = resolveConfig(["--port", "0"], {});
 * if (config instanceof Error) throw config;
 * console.log(config.port, config.httpPort, config.maxBatch); // 0 0 128
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { AddressRanges } from "./auth/cidr.ts";
import { ENGINE_KINDS, type EngineKind } from "./engine/kinds.ts";
import { LOG_FORMATS, LOG_LEVELS } from "./log.ts";
import { DEFAULT_BATCH_MS } from "./models/open.ts";
import {
  MODEL_OPTIONS,
  type ModelSettings,
  modelSettings,
  ModelSettingsError,
} from "./models/flags.ts";

/** A flag or variable the server cannot use; its message is one sentence for a person. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The earlier design's port. */
export const DEFAULT_PORT = 32001;
/** Triton's HTTP port. */
export const DEFAULT_HTTP_PORT = 8000;

type Kind =
  | { type: "string" }
  | { type: "int"; min: number; max?: number }
  | { type: "enum"; values: readonly string[] }
  | { type: "boolean" };

interface OptionSpec {
  flag: string;
  kind: Kind;
  /** The default as a flag value would spell it; undefined: unset. */
  default?: string;
  help: string;
  /** How the help spells the value (default: from the kind). */
  value?: string;
}

/** Every option of `deno task serve`, in the order `--help` lists them. */
export const OPTIONS = [
  { flag: "host", kind: { type: "string" }, default: "0.0.0.0", help: "address to listen on" },
  {
    flag: "port",
    kind: { type: "int", min: 0, max: 65535 },
    default: String(DEFAULT_PORT),
    help: "board port (legacy and framed); 0 picks a free one and implies --http-port 0",
  },
  {
    flag: "http-port",
    kind: { type: "int", min: 0, max: 65535 },
    default: String(DEFAULT_HTTP_PORT),
    help: "HTTP port (Open Inference Protocol, health, metrics, dashboard); 0 picks a free one",
  },
  { flag: "no-http", kind: { type: "boolean" }, help: "do not open the HTTP port" },
  ...MODEL_OPTIONS,
  {
    flag: "instances",
    kind: { type: "string" },
    default: "auto",
    value: "K|auto",
    help:
      "engine instances, each running one batch at a time (auto: wasm one per core, at most 16; native one)",
  },
  {
    flag: "engine",
    kind: { type: "enum", values: ENGINE_KINDS },
    default: "wasm",
    help:
      "wasm (onnxruntime-web, no native code) or native (onnxruntime-node: deno task install:native, then deno task serve:native)",
  },
  {
    flag: "threads",
    kind: { type: "int", min: 1, max: 64 },
    default: "1",
    help: "runtime threads per instance",
  },
  {
    flag: "max-batch",
    kind: { type: "int", min: 1, max: 4096 },
    default: "128",
    help: "most digits in one engine run",
  },
  {
    flag: "batch-ms",
    kind: { type: "int", min: 0, max: 10_000 },
    default: String(DEFAULT_BATCH_MS),
    value: "MS",
    help:
      "while a client queues ahead, runs aim to take about this long (batches shrink below --max-batch) and one core is left to the event loop, so a board beside it waits little; 0: off",
  },
  {
    flag: "max-queued",
    kind: { type: "int", min: 1 },
    default: "4096",
    help: "most digits waiting for a run; more get SERVER_BUSY",
  },
  {
    flag: "max-frame",
    kind: { type: "int", min: 64, max: 16 * 1024 * 1024 },
    default: String(16 * 1024),
    value: "BYTES",
    help: "largest framed request; larger gets FRAME_TOO_LARGE",
  },
  {
    flag: "max-legacy",
    kind: { type: "int", min: 64, max: 16 * 1024 * 1024 },
    default: String(64 * 1024),
    value: "BYTES",
    help: "largest legacy request; larger gets FRAME_TOO_LARGE",
  },
  {
    flag: "max-http-body",
    kind: { type: "int", min: 1024, max: 256 * 1024 * 1024 },
    default: String(4 * 1024 * 1024),
    value: "BYTES",
    help: "largest HTTP request body (after inflating), limited while it is read; larger gets 413",
  },
  {
    flag: "max-pipelined",
    kind: { type: "int", min: 1 },
    default: "256",
    help: "replies a framed client may have outstanding before the server stops reading it",
  },
  {
    flag: "max-connections",
    kind: { type: "int", min: 1 },
    default: "10000",
    help: "board connections served at once; more get SERVER_BUSY and a close",
  },
  {
    flag: "max-connections-per-address",
    kind: { type: "int", min: 1 },
    default: "1024",
    help: "board connections from one client address (a NAT gateway fronts many boards)",
  },
  {
    flag: "max-buffered-bytes",
    kind: { type: "int", min: 65536 },
    default: String(64 * 1024 * 1024),
    value: "BYTES",
    help:
      "memory held for unfinished messages across all board connections; past it, the connection adding to it is cut",
  },
  {
    flag: "min-queue-share",
    kind: { type: "int", min: 1 },
    default: "16",
    help: "digits one board connection may have queued however many connections share the queue",
  },
  {
    flag: "trusted-proxy",
    kind: { type: "string" },
    value: "CIDR,...",
    help: "peers whose PROXY protocol v2 header names the real client (HAProxy's send-proxy-v2)",
  },
  {
    flag: "message-timeout-ms",
    kind: { type: "int", min: 1 },
    default: "5000",
    value: "MS",
    help:
      "a whole message must arrive within this from its first byte (MALFORMED_BUFFER, then close)",
  },
  {
    flag: "idle-timeout-ms",
    kind: { type: "int", min: 1 },
    default: String(15 * 60_000),
    value: "MS",
    help:
      "a framed connection silent this long between messages is closed (boards may poll rarely)",
  },
  {
    flag: "write-timeout-ms",
    kind: { type: "int", min: 1 },
    default: "10000",
    value: "MS",
    help: "a connection whose replies make no write progress this long is closed",
  },
  {
    flag: "run-timeout-ms",
    kind: { type: "int", min: 1 },
    default: "2000",
    value: "MS",
    help:
      "an engine run without progress for this long fails with INTERNAL_ERROR and its worker is replaced",
  },
  {
    flag: "drain-seconds",
    kind: { type: "int", min: 0 },
    default: "5",
    value: "S",
    help: "on SIGTERM, readiness turns 503 and the server keeps serving this long before it stops",
  },
  {
    flag: "metrics-token",
    kind: { type: "string" },
    value: "TOKEN",
    help: "when set, GET /metrics needs it as a bearer token",
  },
  {
    flag: "tokens",
    kind: { type: "string" },
    value: "FILE",
    help:
      "device tokens, one `NAME SHA256HEX` line each (deno task token NAME); reloaded on change; framed requests and HTTP infer then need a token",
  },
  {
    flag: "legacy",
    kind: { type: "enum", values: ["allow", "deny"] },
    default: "allow",
    help: "whether legacy clients, which cannot carry a token, are served",
  },
  {
    flag: "legacy-from",
    kind: { type: "string" },
    value: "CIDR,...",
    help: "serve legacy clients only from these IPv4/IPv6 ranges",
  },
  {
    flag: "tls-cert",
    kind: { type: "string" },
    value: "FILE",
    help: "PEM certificate chain for TLS on the HTTP port and --tls-port",
  },
  {
    flag: "tls-key",
    kind: { type: "string" },
    value: "FILE",
    help: "PEM private key of --tls-cert",
  },
  {
    flag: "tls-port",
    kind: { type: "int", min: 0, max: 65535 },
    help:
      "a second board port inside TLS (ESP32 and desktop clients; the ESP8266 cannot); 0 picks a free one",
  },
  {
    flag: "log-level",
    kind: { type: "enum", values: LOG_LEVELS },
    default: "info",
    help: "per-request lines at debug",
  },
  {
    flag: "log-format",
    kind: { type: "enum", values: LOG_FORMATS },
    default: "plain",
    help:
      "plain `TIME LEVEL message key=value` lines, or one JSON object per line (the start line too)",
  },
] as const satisfies readonly OptionSpec[];

type Flag = typeof OPTIONS[number]["flag"];
type Camel<S extends string> = S extends `${infer A}-${infer B}` ? `${A}${Capitalize<Camel<B>>}`
  : S;
type ValueOf<O> = O extends { kind: { type: "int" } } ? number
  : O extends { kind: { type: "boolean" } } ? boolean
  : O extends { kind: { type: "enum"; values: readonly (infer V)[] } } ? V
  : string;
type Spec<F extends Flag> = Extract<typeof OPTIONS[number], { flag: F }>;

/** The resolved configuration: every option by its camel-cased name. */
export type ServerConfig =
  & {
    [F in Flag as Camel<F>]: Spec<F> extends { default: string } ? ValueOf<Spec<F>>
      : ValueOf<Spec<F>> | undefined;
  }
  & { instancesCount: number; models: ModelSettings; trustedProxies?: AddressRanges };

/** The environment variable of a flag: `--http-port` → `MNIST_HTTP_PORT`. */
export function envName(flag: string): string {
  return "MNIST_" + flag.toUpperCase().replaceAll("-", "_");
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function convert(spec: OptionSpec, text: string, source: string): string | number | boolean {
  const kind = spec.kind;
  switch (kind.type) {
    case "int": {
      const n = Number(text);
      const max = kind.max ?? Number.MAX_SAFE_INTEGER;
      if (text.trim() === "" || !Number.isInteger(n) || n < kind.min || n > max) {
        throw new ConfigError(
          `${source} must be a whole number from ${kind.min}${
            kind.max === undefined ? " up" : ` to ${kind.max}`
          }, got "${text}"`,
        );
      }
      return n;
    }
    case "enum":
      if (!kind.values.includes(text)) {
        throw new ConfigError(`${source} must be one of ${kind.values.join(", ")}, got "${text}"`);
      }
      return text;
    case "boolean": {
      if (/^(1|true|yes|on)$/i.test(text)) return true;
      if (/^(0|false|no|off|)$/i.test(text)) return false;
      throw new ConfigError(`${source} must be true or false, got "${text}"`);
    }
    default:
      return text;
  }
}

/**
 * The number of instances `--instances auto` picks. WASM: one single-threaded
 * instance per core (at most 16). Measured on a 2-core machine, 500 framed
 * keep-alive clients in one run: 2 instances × 1 thread 4,391 req/s, 1 × 2
 * threads 3,822, 1 × 1 2,817 (bench/README.md); WASM threads also risk
 * onnxruntime-web's start-up hang, which instances do not. Native: one. The
 * event loop (about 30 µs a request) shares the cores with it, and one
 * instance (about 21,800 digits/s alone at one thread) already runs near what
 * the event loop feeds it (18,254 req/s served); a second instance or thread
 * only takes CPU from the event loop (1 against 2 instances: 1.11, 0.98 and
 * 1.08 in three pairs; 1 × 2 threads served 0.88–0.92× of 1 × 1).
 */
export function autoInstances(
  engine: EngineKind = "wasm",
  cores = navigator.hardwareConcurrency,
): number {
  if (engine === "native") return 1;
  return Math.max(1, Math.min(cores, 16));
}

/**
 * Resolves flags over environment variables over defaults. Returns a
 * `ConfigError` (never throws) for anything the server cannot use, or
 * "help" when `--help` was asked for.
 */
export function resolveConfig(
  args: string[],
  env: Record<string, string | undefined>,
): ServerConfig | ConfigError | "help" {
  try {
    const parseOptions: Record<string, { type: "string" | "boolean"; short?: string }> = {
      help: { type: "boolean", short: "h" },
    };
    for (const spec of OPTIONS) {
      parseOptions[spec.flag] = { type: spec.kind.type === "boolean" ? "boolean" : "string" };
    }
    let values: Record<string, string | boolean | undefined>;
    try {
      values = parseArgs({ args, options: parseOptions, strict: true }).values;
    } catch (e) {
      // node:util's messages can run over several lines; the first says what is wrong.
      const first = (e as Error).message.split("\n")[0].replace(/\.$/, "");
      throw new ConfigError(`${first}; see --help`);
    }
    if (values.help) return "help";
    const config: Record<string, unknown> = {};
    for (const spec of OPTIONS as readonly OptionSpec[]) {
      const flag = values[spec.flag];
      const variable = env[envName(spec.flag)];
      let value: string | number | boolean | undefined;
      if (typeof flag === "boolean") value = flag;
      else if (flag !== undefined) value = convert(spec, flag, `--${spec.flag}`);
      else if (variable !== undefined) value = convert(spec, variable, envName(spec.flag));
      else if (spec.default !== undefined) value = convert(spec, spec.default, `--${spec.flag}`);
      else if (spec.kind.type === "boolean") value = false;
      config[camel(spec.flag)] = value;
    }
    // --port 0 implies --http-port 0, unless the HTTP port was given.
    if (
      config.port === 0 && values["http-port"] === undefined &&
      env[envName("http-port")] === undefined
    ) {
      config.httpPort = 0;
    }
    if (config.noHttp && (values["http-port"] !== undefined || env[envName("http-port")])) {
      throw new ConfigError("--no-http and --http-port exclude each other: give one");
    }
    if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
      throw new ConfigError("--tls-cert and --tls-key go together: give both or neither");
    }
    if (config.tlsPort !== undefined && config.tlsCert === undefined) {
      throw new ConfigError("--tls-port needs --tls-cert and --tls-key");
    }
    try {
      config.models = modelSettings(config);
    } catch (e) {
      if (e instanceof ModelSettingsError) throw new ConfigError(e.message);
      throw e;
    }
    if (config.trustedProxy !== undefined) {
      const ranges = AddressRanges.parse(String(config.trustedProxy));
      if (ranges instanceof Error) throw new ConfigError(`--trusted-proxy: ${ranges.message}`);
      config.trustedProxies = ranges;
    }
    const instances = String(config.instances);
    if (instances === "auto") config.instancesCount = autoInstances(config.engine as EngineKind);
    else {
      const n = Number(instances);
      if (!Number.isInteger(n) || n < 1 || n > 64) {
        throw new ConfigError(
          `--instances must be "auto" or a whole number from 1 to 64, got "${instances}"`,
        );
      }
      config.instancesCount = n;
    }
    return config as ServerConfig;
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
}

/** The `--help` text. */
export function usage(): string {
  const rows = (OPTIONS as readonly OptionSpec[]).map((spec) => {
    const value = spec.kind.type === "boolean"
      ? ""
      : " " + (spec.value ?? (spec.kind.type === "int"
        ? "N"
        : spec.kind.type === "enum"
        ? spec.kind.values.join("|")
        : "VALUE"));
    const left = `  --${spec.flag}${value}`;
    const def = spec.default === undefined ? "" : ` (default ${spec.default})`;
    return `${left.padEnd(32)} ${spec.help}${def}\n${" ".repeat(33)}env ${envName(spec.flag)}`;
  });
  return [
    "Usage: deno task serve [options]",
    "",
    "Serves MNIST inference to boards (legacy and framed protocols on one TCP port) and over HTTP",
    "(Open Inference Protocol, health, Prometheus metrics, dashboard). Flags win over environment",
    "variables, which win over defaults.",
    "",
    "Options:",
    ...rows,
    "  -h, --help                       show this help",
  ].join("\n");
}
