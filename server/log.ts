/**
 * The server's logger: one line per event, on stderr, filtered by level.
 * Plain lines read `TIME LEVEL message key=value ...`; with the `json`
 * format each line is one JSON object (`time`, `level`, `msg` and the
 * fields) for log collectors. Errors carry the same codes as the wire.
 *
 * @example
 * ```ts
 * import { Logger } from "./log.ts";
 *
 * const log = new Logger("info");
 * log.info("listening", { address: "0.0.0.0:32001" });
 * log.debug("not shown at info level");
 * const json = new Logger("info", undefined, "json");
 * console.log(json.format("info", "started", { port: 32001 })); // {"time":...,"level":"info",...}
 * ```
 * @module
 */

/** Levels, most severe first. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export type LogLevel = typeof LOG_LEVELS[number];
/** Line formats: `plain` for people, `json` for log collectors. */
export const LOG_FORMATS = ["plain", "json"] as const;
export type LogFormat = typeof LOG_FORMATS[number];

export type LogFields = Record<string, string | number | boolean | undefined>;

/** Writes log lines at or above its level. */
export class Logger {
  readonly level: LogLevel;
  readonly logFormat: LogFormat;
  #rank: number;
  #write: (line: string) => void;

  constructor(
    level: LogLevel,
    write: (line: string) => void = (line) => console.error(line),
    format: LogFormat = "plain",
  ) {
    this.level = level;
    this.logFormat = format;
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

  /** One line in this logger's format, whatever its level (the start line uses it for stdout). */
  format(level: LogLevel, message: string, fields?: LogFields): string {
    const time = new Date().toISOString();
    if (this.logFormat === "json") {
      const object: Record<string, unknown> = { time, level, msg: message };
      for (const [key, value] of Object.entries(fields ?? {})) {
        if (value !== undefined && !(key in object)) object[key] = value;
      }
      return JSON.stringify(object);
    }
    let line = `${time} ${level.toUpperCase()} ${message}`;
    for (const [key, value] of Object.entries(fields ?? {})) {
      if (value === undefined) continue;
      const text = String(value);
      line += ` ${key}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`;
    }
    return line;
  }

  #log(level: LogLevel, message: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    this.#write(this.format(level, message, fields));
  }
}
