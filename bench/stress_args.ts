/**
 * `deno task bench:stress`'s flags: `StressOptions` and `parseStressArgs`,
 * which checks every flag (bounded clients and requests, a known protocol
 * and digit source, the MQTT broker's settings) and throws a `UsageError`
 * with one line for the first that is wrong. `stress.ts` runs what they ask
 * for; `stress_usage.ts` is their usage text.
 *
 * @example
 * ```ts
 * import { parseStressArgs } from "./stress_args.ts";
 *
 * const options = parseStressArgs(["--protocol", "framed", "--keep-alive", "--clients", "50"]);
 * console.log(options.protocols, options.clients, options.keepAlive); // [ "framed" ] 50 true
 * ```
 * @module
 */
import {
  choiceFlag,
  intFlag,
  isLoopback,
  listFlag,
  numberFlag,
  pathFlag,
  thousands,
  v8FlagsFlag,
} from "./_cli.ts";
import { parseFlags, parseHostPort, UsageError } from "../cli/args.ts";
import { autoInstances, autoThreads, tableDefault } from "../server/config.ts";
import { DIGIT_SOURCES, type DigitSource } from "./digits.ts";
import { DIGIT_KINDS, type DigitKind, isHttp, type LoadProtocol, PROTOCOLS } from "./load_plan.ts";
import { ENGINE_KINDS, type EngineKind } from "../server/config_spec.ts";
import { cpuListFlag, mqttFlag, outputFlag } from "./_stress_flags.ts";

/** The flags `--targets` sets for each of its steps, refused beside it. */
const TARGETS_SET = [
  "server",
  "protocol",
  "clients",
  "requests",
  "keep-alive",
  "warmup",
  "sweep",
  "server-engine",
  "server-listeners",
  "compare-inference",
  "digits",
  "json",
  "report",
] as const;

/** The most clients in one step, and requests in one step: load stays bounded. */
export const MAX_CLIENTS = 10_000;
export const MAX_STEP_REQUESTS = 2_000_000;

/** Everything the command line says. */
export interface StressOptions {
  host: string;
  /** The running server's board port (`--server HOST:PORT`); null: start a server subprocess. */
  port: number | null;
  /** The running server's HTTP port (`--http-port`, with `--server`). */
  httpPort: number;
  clients: number;
  requests: number;
  /** The first of `protocols`. */
  protocol: LoadProtocol;
  /** One step (or sweep) per protocol, in order, against the same server. */
  protocols: LoadProtocol[];
  digits: DigitKind;
  keepAlive: boolean;
  garbage: boolean;
  digitSource: DigitSource;
  /** Seconds: no request starts later than this into a step. */
  duration: number;
  /** Seconds a request may take. */
  timeout: number;
  /** Client counts, one step each; null for one step of `clients`. */
  sweep: number[] | null;
  workers: number;
  /** Requests sent before measuring (0: none). */
  warmup: number;
  serverThreads: number;
  /** `--listeners` of the started server (1: in process). */
  serverListeners: number;
  /** CPUs the started server is pinned to (taskset -c), or null. */
  serverCpus: string | null;
  /** The started server's `--instances` (null: the server's default). */
  serverInstances: number | null;
  /** The started server's `--engine` (null: the server's default). */
  serverEngine: EngineKind | null;
  serverMaxBatch: number | null;
  /** Another server entry point to start instead of server/main.ts (A/B tests of server changes). */
  serverMain: string | null;
  /** The started server's V8 flags (undefined: those `deno task serve` passes). */
  serverV8Flags?: string[];
  /** The broker of `--protocol mqtt` (null: the bench starts a Mosquitto). */
  mqtt: string | null;
  mqttQos: 0 | 1;
  compareInference: boolean;
  inferenceRuns: number;
  json: string | null;
  report: string | null;
  /** Print each target ratio and exit non-zero when one misses (`checks.ts`). */
  check: boolean;
  /** Run every target's own step, one server each (`stress_targets.ts`). */
  targets: boolean;
  /** The event loop's us per request of the code before, for --check. */
  baselineUs: number | null;
  quiet: boolean;
  help: boolean;
}

/** Parses and checks the command line; throws `UsageError`. */
export function parseStressArgs(args: string[]): StressOptions {
  const { values } = parseFlags({
    args,
    options: {
      server: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      clients: { type: "string" },
      requests: { type: "string" },
      protocol: { type: "string" },
      "http-port": { type: "string" },
      digits: { type: "string" },
      "keep-alive": { type: "boolean" },
      garbage: { type: "boolean" },
      "digit-source": { type: "string" },
      duration: { type: "string" },
      timeout: { type: "string" },
      sweep: { type: "string" },
      workers: { type: "string" },
      warmup: { type: "string" },
      "server-threads": { type: "string" },
      "server-instances": { type: "string" },
      "server-engine": { type: "string" },
      "server-max-batch": { type: "string" },
      "server-main": { type: "string" },
      "server-v8-flags": { type: "string" },
      "server-listeners": { type: "string" },
      "server-cpus": { type: "string" },
      mqtt: { type: "string" },
      "mqtt-qos": { type: "string" },
      "compare-inference": { type: "boolean" },
      "inference-runs": { type: "string" },
      json: { type: "string" },
      report: { type: "string" },
      check: { type: "boolean" },
      targets: { type: "boolean" },
      "baseline-us": { type: "string" },
      quiet: { type: "boolean", short: "q" },
      help: { type: "boolean", short: "h" },
    },
  });
  const protocols = (values.protocol ?? "legacy").split(",").map((p) =>
    choiceFlag("protocol", p.trim(), PROTOCOLS, "legacy")
  );
  const protocol = protocols[0];
  if (values.host !== undefined || values.port !== undefined) {
    throw new UsageError(
      `--${values.host !== undefined ? "host" : "port"} is now part of --server HOST:PORT, ` +
        "a running server, as every client names one",
    );
  }
  const server = values.server === undefined
    ? null
    : parseHostPort(values.server, tableDefault("port"));
  const options: StressOptions = {
    host: server?.host ?? "127.0.0.1",
    port: server?.port ?? null,
    clients: intFlag("clients", values.clients, 500, { min: 1, max: MAX_CLIENTS }),
    requests: intFlag("requests", values.requests, 1, { min: 1, max: MAX_STEP_REQUESTS }),
    httpPort: intFlag("http-port", values["http-port"], 8000, { min: 1, max: 65535 }),
    protocol,
    protocols,
    digits: choiceFlag(
      "digits",
      values.digits,
      DIGIT_KINDS,
      protocol === "legacy" ? "float" : "u8",
    ),
    keepAlive: values["keep-alive"] ?? false,
    garbage: values.garbage ?? false,
    digitSource: choiceFlag("digit-source", values["digit-source"], DIGIT_SOURCES, "mnist"),
    duration: numberFlag("duration", values.duration, 60, { min: 0.001, max: 600 }),
    timeout: numberFlag("timeout", values.timeout, 10, { min: 0.001, max: 120 }),
    sweep: values.sweep === undefined
      ? null
      : listFlag("sweep", values.sweep, [], { min: 1, max: MAX_CLIENTS }),
    workers: intFlag("workers", values.workers, 1, { min: 0, max: 16 }),
    warmup: intFlag("warmup", values.warmup, 500, { min: 0, max: 100_000 }),
    // Placeholder until the engine and instances are known: `auto` is resolved below.
    serverThreads: 0,
    serverListeners: intFlag("server-listeners", values["server-listeners"], 1, {
      min: 1,
      max: 64,
    }),
    serverCpus: cpuListFlag(values["server-cpus"]),
    serverInstances: values["server-instances"] === undefined
      ? null
      : intFlag("server-instances", values["server-instances"], 1, { min: 1, max: 64 }),
    serverEngine: values["server-engine"] === undefined
      ? null
      : choiceFlag("server-engine", values["server-engine"], ENGINE_KINDS, "wasm"),
    serverMaxBatch: values["server-max-batch"] === undefined
      ? null
      : intFlag("server-max-batch", values["server-max-batch"], 0, { min: 1, max: 4096 }),
    serverMain: pathFlag("server-main", values["server-main"]) ?? null,
    serverV8Flags: v8FlagsFlag("server-v8-flags", values["server-v8-flags"]),
    mqtt: mqttFlag(values.mqtt),
    mqttQos: intFlag("mqtt-qos", values["mqtt-qos"], 0, { min: 0, max: 1 }) as 0 | 1,
    compareInference: values["compare-inference"] ?? false,
    inferenceRuns: intFlag("inference-runs", values["inference-runs"], 1000, {
      min: 1,
      max: 100_000,
    }),
    json: outputFlag("json", values.json),
    report: outputFlag("report", values.report),
    check: values.check ?? false,
    targets: values.targets ?? false,
    baselineUs: values["baseline-us"] === undefined
      ? null
      : numberFlag("baseline-us", values["baseline-us"], 0, { min: 0.001, max: 1e6 }),
    quiet: values.quiet ?? false,
    help: values.help ?? false,
  };
  // The started server's own `--threads auto` for its engine and instances; 1 for a running one.
  options.serverThreads = values["server-threads"] !== undefined
    ? intFlag("server-threads", values["server-threads"], 1, { min: 1, max: 16 })
    : options.port === null
    ? autoThreads(
      options.serverEngine ?? "wasm",
      options.serverInstances ?? autoInstances(options.serverEngine ?? "wasm"),
    )
    : 1;
  if (!isLoopback(options.host)) {
    throw new UsageError(`--server must be a loopback address (127.x.x.x, localhost)`);
  }
  if (options.keepAlive && protocols.includes("legacy")) {
    throw new UsageError(
      "--keep-alive needs --protocol framed: legacy is a connection per request",
    );
  }
  if (options.garbage && protocols.some(isHttp)) {
    throw new UsageError("--garbage sends raw floats: JSON cannot carry NaN, so not with http");
  }
  if (values["http-port"] !== undefined && options.port === null) {
    throw new UsageError("--http-port is for a running server: give --server too");
  }
  if (options.port !== null && protocols.includes("mqtt") && options.mqtt === null) {
    throw new UsageError(
      "--protocol mqtt with --server needs --mqtt URL: the running server's broker",
    );
  }
  if ((options.garbage || options.digits === "float") && protocols.includes("mqtt")) {
    throw new UsageError("--protocol mqtt sends u8 digits: not with --garbage or --digits float");
  }
  if (options.garbage && options.digits !== "float") {
    throw new UsageError("--garbage sends floats: it cannot go with --digits u8");
  }
  if (
    options.port !== null &&
    (values["server-threads"] || values["server-max-batch"] || values["server-main"] ||
      values["server-instances"] || values["server-engine"] || values["server-v8-flags"] ||
      values["server-listeners"] || values["server-cpus"])
  ) {
    throw new UsageError(
      "--server-threads, --server-instances, --server-engine, --server-max-batch, " +
        "--server-main, --server-v8-flags, --server-listeners and --server-cpus are for the " +
        "server the bench starts",
    );
  }
  if (options.targets) {
    const set = TARGETS_SET.filter((flag) => values[flag] !== undefined);
    if (set.length > 0) {
      throw new UsageError(
        `--targets starts a server for each target's own step: leave out --${set.join(", --")}`,
      );
    }
  }
  for (const clients of options.sweep ?? [options.clients]) {
    if (clients * options.requests > MAX_STEP_REQUESTS) {
      throw new UsageError(
        `${thousands(clients)} clients × ${thousands(options.requests)} requests is over the ` +
          `${thousands(MAX_STEP_REQUESTS)} requests a step may send`,
      );
    }
  }
  return options;
}
