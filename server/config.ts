/**
 * The server's option table: every option of `deno task serve` with its
 * default, group and help, each settable by a flag (`--max-batch 64`) or an
 * environment variable (`MNIST_MAX_BATCH=64`); flags win. It is the one place
 * a default is written: each group's rows sit in their own module
 * (`_config_essentials.ts`, `_config_limits.ts`, ...), written once there and
 * assembled here into the one table that `--help`, `docs/configuration.md`,
 * the command line (`config_resolve.ts`) and `startServer()`
 * (`serverDefaults()`) all read. What a row is: `config_spec.ts`.
 *
 * @example
 * ```ts
 * import { envName, serverDefaults } from "./config.ts";
 *
 * console.log(serverDefaults().maxBatch, envName("max-batch")); // 128 MNIST_MAX_BATCH
 * ```
 * @module
 */
import type { EngineKind, OptionSpec } from "./config_spec.ts";
import { ESSENTIAL_OPTIONS } from "./_config_essentials.ts";
import { LIMIT_OPTIONS } from "./_config_limits.ts";
import { TRUST_OPTIONS } from "./_config_trust.ts";
import { MODEL_OPTIONS } from "./_config_models.ts";
import { ROLLOUT_OPTIONS } from "./_config_rollouts.ts";
import { MQTT_OPTIONS } from "./_config_mqtt.ts";
import { FLEET_OPTIONS } from "./_config_fleet.ts";
import { LOGGING_OPTIONS } from "./_config_logging.ts";

/** Every option of `deno task serve`, grouped as `--help` lists them. */
export const OPTIONS = [
  ...ESSENTIAL_OPTIONS,
  ...LIMIT_OPTIONS,
  ...TRUST_OPTIONS,
  ...MODEL_OPTIONS,
  ...ROLLOUT_OPTIONS,
  ...MQTT_OPTIONS,
  ...FLEET_OPTIONS,
  ...LOGGING_OPTIONS,
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
