/**
 * The server's logger: one line per event, `LEVEL message key=value ...`, on
 * stderr, filtered by level. Errors carry the same codes as the wire.
 *
 * @example
 * ```ts
 * import { Logger } from "./log.ts";
 *
 * const log = new Logger("info");
 * log.info("listening", { address: "0.0.0.0:32001" });
 * log.debug("not shown at info level");
 * ```
 * @module
 */

/** Levels, most severe first. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export type LogLevel = typeof LOG_LEVELS[number];
/** Line formats: `LEVEL message key=value` or one JSON object per line. */
export const LOG_FORMATS = ["plain", "json"] as const;
export type LogFormat = typeof LOG_FORMATS[number];

export type LogFields = Record<string, string | number | boolean | undefined>;

/** Writes log lines at or above its level. */
export class Logger {
  readonly level: LogLevel;
  #rank: number;
  #write: (line: string) => void;

  constructor(level: LogLevel, write: (line: string) => void = (line) => console.error(line)) {
    this.level = level;
    this.#rank = LOG_LEVELS.indexOf(level);
    this.#write = write;
  }

  /** Whether lines of `level` are written: lets callers skip building them. */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= this.#rank;
  }

  error(message: string, fields?: LogFields): void {
    this.#log("error", message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.#log("warn", message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.#log("info", message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    this.#log("debug", message, fields);
  }

  #log(level: LogLevel, message: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    let line = `${new Date().toISOString()} ${level.toUpperCase()} ${message}`;
    for (const [key, value] of Object.entries(fields ?? {})) {
      if (value === undefined) continue;
      const text = String(value);
      line += ` ${key}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`;
    }
    this.#write(line);
  }
}
