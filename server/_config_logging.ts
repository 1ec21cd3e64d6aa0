/**
 * The option table's rows of the "Logging" group: the log level and format.
 * `config.ts` assembles them with the other groups' rows into the one table.
 *
 * @module
 */
import { LOG_FORMATS, LOG_LEVELS } from "./log.ts";
import type { OptionSpec } from "./config_spec.ts";

/** The "Logging" rows, in the order `--help` lists them. */
export const LOGGING_OPTIONS = [
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
