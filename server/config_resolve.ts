/**
 * Resolving `deno task serve`'s command line: flags over `MNIST_*` variables
 * over the defaults of the option table (`config.ts`), each value checked
 * against its row, then the rules between options. A mistake is a
 * `ConfigError` of one sentence (never thrown: returned).
 *
 * @example
 * ```ts
 * import { resolveConfig } from "./config_resolve.ts";
 *
 * const config = resolveConfig(["--port", "0"], {});
 * if (config instanceof Error || config === "help") throw new Error("unexpected");
 * console.log(config.port, config.httpPort, config.maxBatch); // 0 0 128
 * ```
 * @module
 */
import { parseFlags, UsageError } from "../cli/args.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listeners/listener_options.ts";
import { AddressRanges } from "./auth/cidr.ts";
import { type EngineKind, MIN_OPERATOR_TOKEN, type OptionSpec } from "./config_spec.ts";
import {
  autoInstances,
  autoThreads,
  camel,
  defaultValue,
  envName,
  OPTIONS,
  type OptionValues,
  type TableServerOptions,
} from "./config.ts";
import { type CaptureSettings, modelSettings, ModelSettingsError } from "./model_flags.ts";
import { type MqttSettings, mqttSettings, MqttSettingsError } from "./mqtt/settings.ts";

/** A flag or variable the server cannot use; its message is one sentence for a person. */
export class ConfigError extends UsageError {
  override name = "ConfigError";
}

/** The resolved configuration: every option by its camel-cased name, and what the rules made. */
export type ServerConfig = OptionValues & {
  /** `--instances` as a count (`auto` resolved for this machine). */
  instancesCount: number;
  /** `--threads` as a count (`auto` resolved for this machine and engine). */
  threadsCount: number;
  /** `--trusted-proxy` parsed. */
  trustedProxies?: AddressRanges;
  /** `--capture` and its rate and size, or null. */
  captureSettings: CaptureSettings | null;
  /** `--mqtt` and its options, checked (files not yet read), or null. */
  mqttSettings: MqttSettings | null;
  /** The flags set by a flag or a variable (not by a default). */
  given: ReadonlySet<string>;
};

function convert(spec: OptionSpec, text: string, source: string): string | number | boolean {
  const kind = spec.kind;
  switch (kind.type) {
    case "int":
    case "number": {
      const n = Number(text);
      const max = kind.max ?? Number.MAX_SAFE_INTEGER;
      const whole = kind.type === "int";
      if (
        !/^\s*[-+]?[\d.]+\s*$/.test(text) || (whole ? !Number.isInteger(n) : !Number.isFinite(n)) ||
        n < kind.min || n > max
      ) {
        throw new ConfigError(
          `${source} must be a ${whole ? "whole number" : "number"} from ${kind.min}${
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

/** The options `startServer()` takes as they are, by the table's rows marked `server`. */
export function tableServerOptions(config: OptionValues): TableServerOptions {
  const options: Record<string, unknown> = {};
  const values = config as Record<string, unknown>;
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    if (spec.server) options[camel(spec.flag)] = values[camel(spec.flag)];
  }
  return options as TableServerOptions;
}

/** The operator's bearer tokens, each held to the same rules: flag, option key. */
const OPERATOR_TOKENS = [
  ["admin-token", "adminToken"],
  ["operator-token", "operatorToken"],
  ["metrics-token", "metricsToken"],
] as const;

/** The rules between options; throws a `ConfigError`. */
function checkRules(config: Record<string, unknown>, given: ReadonlySet<string>): void {
  // --port 0 implies --http-port 0, unless the HTTP port was given.
  if (config.port === 0 && !given.has("http-port")) config.httpPort = 0;
  if (config.noHttp && given.has("http-port")) {
    throw new ConfigError("--no-http and --http-port exclude each other: give one");
  }
  // HTTP bodies may hold half of the buffer budget (`httpBudget`): a larger body would never fit.
  const httpHalf = Math.floor(Number(config.maxBufferedBytes) / 2);
  if (!config.noHttp && Number(config.maxHttpBody) > httpHalf) {
    throw new ConfigError(
      `--max-http-body (${config.maxHttpBody}) must be at most half of --max-buffered-bytes ` +
        `(${httpHalf}): HTTP bodies may hold only that half, so a larger body would never fit`,
    );
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError("--tls-cert and --tls-key go together: give both or neither");
  }
  if (config.tlsPort !== undefined && config.tlsCert === undefined) {
    throw new ConfigError("--tls-port needs --tls-cert and --tls-key");
  }
  if (config.operatorToken === "") config.operatorToken = undefined;
  // A bearer token is one word (`Authorization: Bearer <token>`): one with a space, a tab or a
  // character a header cannot carry would never match, and every route it guards would say 401.
  for (const [flag, key] of OPERATOR_TOKENS) {
    if (!config[key]) continue;
    const token = String(config[key]);
    if (token.length < MIN_OPERATOR_TOKEN) {
      throw new ConfigError(`--${flag} must be at least ${MIN_OPERATOR_TOKEN} characters`);
    }
    if (!/^[\x21-\x7e]+$/.test(token)) {
      throw new ConfigError(
        `--${flag} must be printable ASCII without spaces: a bearer token is one word`,
      );
    }
  }
  try {
    config.captureSettings = modelSettings(config as OptionValues, given).capture;
  } catch (e) {
    if (e instanceof ModelSettingsError) throw new ConfigError(e.message);
    throw e;
  }
  try {
    config.mqttSettings = mqttSettings(config as unknown as OptionValues, given);
  } catch (e) {
    if (e instanceof MqttSettingsError) throw new ConfigError(e.message);
    throw e;
  }
  if (config.trustedProxy !== undefined) {
    const ranges = AddressRanges.parse(String(config.trustedProxy));
    if (ranges instanceof Error) throw new ConfigError(`--trusted-proxy: ${ranges.message}`);
    config.trustedProxies = ranges;
  }
  if (Number(config.listeners) > 1 && !hasUnstableNet()) throw new ConfigError(NEEDS_UNSTABLE_NET);
  const engine = config.engine as EngineKind;
  config.instancesCount = countOrAuto("instances", config.instances, 64) ??
    autoInstances(engine);
  config.threadsCount = countOrAuto("threads", config.threads, 64) ??
    autoThreads(engine, config.instancesCount as number);
}

/** `--FLAG K|auto` as K, or null for auto. */
function countOrAuto(flag: string, value: unknown, max: number): number | null {
  const text = String(value);
  if (text === "auto") return null;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) {
    throw new ConfigError(
      `--${flag} must be "auto" or a whole number from 1 to ${max}, got "${text}"`,
    );
  }
  return n;
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
    const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
      help: { type: "boolean", short: "h" },
    };
    for (const spec of OPTIONS) {
      options[spec.flag] = { type: spec.kind.type === "boolean" ? "boolean" : "string" };
    }
    let values: Record<string, string | boolean | undefined>;
    try {
      values = parseFlags({ args, options }).values;
    } catch (e) {
      if (e instanceof UsageError) throw new ConfigError(e.message);
      throw e;
    }
    if (values.help) return "help";
    const config: Record<string, unknown> = {};
    const given = new Set<string>();
    for (const spec of OPTIONS as readonly OptionSpec[]) {
      const flag = values[spec.flag];
      const variable = env[envName(spec.flag)];
      let value = defaultValue(spec);
      if (typeof flag === "boolean") value = flag;
      else if (flag !== undefined) value = convert(spec, flag, `--${spec.flag}`);
      else if (variable !== undefined) value = convert(spec, variable, envName(spec.flag));
      if (flag !== undefined || variable !== undefined) given.add(spec.flag);
      config[camel(spec.flag)] = value;
    }
    config.given = given;
    checkRules(config, given);
    return config as ServerConfig;
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
}
