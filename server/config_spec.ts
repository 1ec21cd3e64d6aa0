/**
 * What a row of the option table (`config.ts`) is: the groups rows belong
 * to, the kinds of value they take, and the fields `--help`, the docs and
 * the resolvers read from a row; and the choices and rules rows give that
 * the code reading the options checks too (`ENGINE_KINDS`,
 * `MIN_OPERATOR_TOKEN`), written here so that the option table imports no
 * module that reads its defaults.
 *
 * @module
 */

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

/** The engine kinds (`--engine`), default first: `server/engine/kinds.ts` starts each. */
export const ENGINE_KINDS = ["wasm", "native"] as const;
export type EngineKind = typeof ENGINE_KINDS[number];

/**
 * The shortest admin, operator or metrics token accepted: a guessable one
 * would open model changes, or the views, to anyone.
 */
export const MIN_OPERATOR_TOKEN = 16;

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

/** A port number: 0 picks a free one. */
export const PORT = { type: "int", min: 0, max: 65535 } as const;
