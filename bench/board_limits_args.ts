/**
 * `deno task bench:limits`'s `--set K=V`: the `ServerOptions` numbers its
 * scenario servers take, checked against the option table
 * (`server/config.ts`) so that a key the server does not know, or a value
 * outside the table's bounds, is one sentence before any scenario runs,
 * never an option silently ignored.
 *
 * @example
 * ```ts
 * import { parseSets } from "./board_limits_args.ts";
 *
 * console.log(parseSets(["instances=1", "batchMs=0"])); // { instances: 1, batchMs: 0 }
 * ```
 * @module
 */
import { UsageError } from "../cli/args.ts";
import { camel, OPTIONS } from "../server/config.ts";
import type { Kind, OptionSpec } from "../server/config_spec.ts";

/** The `--set` keys: `ServerOptions` names of the table's numeric rows, with their bounds. */
export const SET_KEYS: ReadonlyMap<string, { min: number; max: number; integer: boolean }> =
  (() => {
    const keys = new Map<string, { min: number; max: number; integer: boolean }>([
      // `--instances` and `--threads` take "auto" on the command line; a count here.
      ["instances", { min: 1, max: 64, integer: true }],
      ["threads", { min: 1, max: 64, integer: true }],
    ]);
    for (const spec of OPTIONS as readonly OptionSpec[]) {
      const kind: Kind = spec.kind;
      if (!spec.server || (kind.type !== "int" && kind.type !== "number")) continue;
      keys.set(camel(spec.flag), {
        min: kind.min,
        max: kind.max ?? Number.MAX_SAFE_INTEGER,
        integer: kind.type === "int",
      });
    }
    return keys;
  })();

/** `--set K=V`, each checked: a `UsageError` naming the keys it takes for an unknown one. */
export function parseSets(sets: readonly string[]): Record<string, number> {
  const options: Record<string, number> = {};
  for (const kv of sets) {
    const equals = kv.indexOf("=");
    const key = equals < 0 ? kv : kv.slice(0, equals);
    const text = equals < 0 ? "" : kv.slice(equals + 1);
    if (equals <= 0 || text.trim() === "") {
      throw new UsageError(`--set takes KEY=NUMBER, not "${kv}"`);
    }
    const bounds = SET_KEYS.get(key);
    if (!bounds) {
      throw new UsageError(
        `--set ${key}: no such server option; it takes ${[...SET_KEYS.keys()].join(", ")}`,
      );
    }
    const value = Number(text);
    if (
      !(bounds.integer ? Number.isInteger(value) : Number.isFinite(value)) ||
      value < bounds.min || value > bounds.max
    ) {
      const range = bounds.max === Number.MAX_SAFE_INTEGER
        ? `at least ${bounds.min}`
        : `${bounds.min} to ${bounds.max}`;
      throw new UsageError(
        `--set ${key} takes ${bounds.integer ? "a whole number" : "a number"} ${range}, ` +
          `not "${text}"`,
      );
    }
    options[key] = value;
  }
  return options;
}
