/**
 * How every command of the project answers a mistake on its command line:
 * one sentence on stderr, a "did you mean --x?" when a known flag is near
 * what was typed, a pointer to `--help`, and exit 2 — never the whole help
 * text, never the argument parser's own wording or a stack trace. And the
 * HOST[:PORT] form that `--server` takes wherever a command talks to a server,
 * and `checkOutputPath`, which refuses a path a command could not write
 * before it builds, fetches or writes anything.
 *
 * This folder sits beside `shared/` and is imported the same way by
 * `server/`, `bench/`, `scripts/`, `client/` and `device/` (a sibling, never a
 * parent). It is not in `shared/`, which must also run on the board's
 * Espruino: this module needs Deno and `node:util`.
 *
 * @example
 * ```ts
 * import { parseFlags, UsageError, usageLine } from "./args.ts";
 *
 * const options = { server: { type: "string" }, help: { type: "boolean" } } as const;
 * console.log(parseFlags({ args: ["--server", "127.0.0.1:32001"], options }).values.server);
 * try {
 *   parseFlags({ args: ["--sever", "127.0.0.1:32001"], options });
 * } catch (e) {
 *   if (!(e instanceof UsageError)) throw e;
 *   // A command calls exitOnUsageError("classify", e): this line on stderr, then exit 2.
 *   console.error(usageLine("classify", e.message));
 *   // classify: unknown flag --sever; did you mean --server? (deno task classify --help)
 * }
 * ```
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { TOKEN_LENGTH } from "../shared/codec.ts";

/** A mistake on the command line; its message is one sentence for a person. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The flag names (`--name` and `-n`) a `parseArgs` option table knows. */
export function knownFlags(options: ParseArgsConfig["options"]): string[] {
  const flags: string[] = [];
  for (const [name, option] of Object.entries(options ?? {})) {
    flags.push(`--${name}`);
    if (option.short) flags.push(`-${option.short}`);
  }
  return flags;
}

/** Edit distance counting a swap of two neighbours as one edit (`--prot` is one from `--port`). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The known flag nearest to `given`, or null when none is near: one edit
 * away for names of four or five letters, two for longer ones, or the only
 * flag `given` begins. Long flags are compared with long ones only, and a
 * name shorter than four letters gets no guess (too many are one edit away).
 */
export function nearestFlag(given: string, known: readonly string[]): string | null {
  const long = given.startsWith("--");
  const word = given.replace(/^-+/, "");
  const candidates = known.filter((flag) => flag.startsWith("--") === long);
  if (word.length < 4) return null;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const flag of candidates) {
    const d = distance(word, flag.replace(/^-+/, ""));
    if (d < bestDistance) [best, bestDistance] = [flag, d];
  }
  if (best !== null && bestDistance <= (word.length > 5 ? 2 : 1)) return best;
  const prefixed = candidates.filter((flag) => flag.startsWith(given));
  return prefixed.length === 1 ? prefixed[0] : null;
}

/** "unknown flag --x", with "; did you mean --y?" when a known flag is near. */
export function unknownFlag(given: string, known: readonly string[]): string {
  const near = nearestFlag(given, known);
  return `unknown flag ${given}` + (near ? `; did you mean ${near}?` : "");
}

/** Turns what `node:util`'s `parseArgs` throws into one sentence. */
function sentence(e: Error & { code?: unknown }, options: ParseArgsConfig["options"]): string {
  const quoted = /'([^']*)'/.exec(e.message)?.[1] ?? "";
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return unknownFlag(quoted, knownFlags(options));
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument "${quoted}": this command takes flags only`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const flag = quoted.split(" ")[0];
      return /does not take/.test(e.message) ? `${flag} takes no value` : `${flag} needs a value`;
    }
    default:
      return e.message.split("\n")[0].replace(/\.$/, "");
  }
}

/** A negative number (`-1`, `-0.5`, `-1e3`): no flag looks like one. */
const NEGATIVE_NUMBER = /^-(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * `args` with each negative number that follows a flag taking a value joined
 * to it (`--listeners -1` as `--listeners=-1`), so that it reaches the
 * command's own check of the value, as the joined form always did, instead
 * of `parseArgs` reading it as a flag and saying the value is missing.
 */
function joinNegativeValues(
  args: readonly string[],
  options: ParseArgsConfig["options"],
): string[] {
  const takesValue = new Map<string, string>();
  for (const [name, option] of Object.entries(options ?? {})) {
    if (option.type !== "string") continue;
    takesValue.set(`--${name}`, name);
    if (option.short) takesValue.set(`-${option.short}`, name);
  }
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") return [...joined, ...args.slice(i)];
    const name = takesValue.get(args[i]);
    if (name !== undefined && NEGATIVE_NUMBER.test(args[i + 1] ?? "")) {
      joined.push(`--${name}=${args[++i]}`);
    } else joined.push(args[i]);
  }
  return joined;
}

/**
 * `parseArgs` (strict unless told otherwise) whose mistakes come back as a
 * `UsageError` of one sentence, with a near flag suggested. A negative number
 * after a flag that takes a value is that value (`--duration -1`), for the
 * command to accept or refuse in its own words.
 */
export function parseFlags<T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    const args = config.args && joinNegativeValues(config.args, config.options);
    return parseArgs({ strict: true, ...config, ...(args ? { args } : {}) } as T);
  } catch (e) {
    if (e instanceof Error && "code" in e) throw new UsageError(sentence(e, config.options));
    throw e;
  }
}

/**
 * A device token from a client's command line, checked before anything is
 * sent: exactly `TOKEN_LENGTH` characters, or undefined or "" for none.
 */
export function tokenFlag(value: string | undefined): string | undefined {
  if (value && value.length !== TOKEN_LENGTH) {
    throw new UsageError(
      `--token must be ${TOKEN_LENGTH} characters (deno task token prints one), got ${value.length}`,
    );
  }
  return value;
}

/**
 * Splits "HOST[:PORT]" (an IPv4 address or a name), the form `--server` takes
 * in every command that talks to a server; `defaultPort` when there is none.
 */
export function parseHostPort(text: string, defaultPort: number): { host: string; port: number } {
  const match = /^([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(text.trim());
  if (!match) {
    throw new UsageError(`server "${text}" is not HOST or HOST:PORT (an IPv4 address or a name)`);
  }
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!(port >= 1 && port <= 65535)) {
    throw new UsageError(`server port ${match[2]} is not 1..65535`);
  }
  return { host: match[1], port };
}

/** The folder `path` is in: "." for a bare name, "/" for a name at the root. */
function folderOf(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const slash = trimmed.lastIndexOf("/");
  return slash > 0 ? trimmed.slice(0, slash) : slash === 0 ? "/" : ".";
}

/** What is at `path`, or null when nothing is (or a file is in the way: NotADirectory). */
function statOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
}

/** This process's user id, or null when Deno may not tell (no --allow-sys) and /proc is not there. */
function userId(): number | null {
  if (Deno.permissions.querySync({ name: "sys", kind: "uid" }).state === "granted") {
    return Deno.uid();
  }
  try {
    const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(Deno.readTextFileSync("/proc/self/status"))?.[1];
    return uid === undefined ? null : Number(uid);
  } catch {
    return null;
  }
}

/**
 * Why this process cannot write `path` (a file, or in a folder), or null
 * when it can as far as Deno's permissions and the mode bits say. Only a
 * sure "no" counts: a group write bit may be one of the user's other groups.
 */
function unwritable(path: string, info: Deno.FileInfo): string | null {
  if (Deno.permissions.querySync({ name: "write", path }).state !== "granted") {
    return "this command is not allowed to write there (Deno's --allow-write)";
  }
  const uid = userId();
  if (uid === null || uid === 0 || info.mode === null || info.uid === null) return null;
  const bits = info.uid === uid ? 0o200 : 0o022;
  return info.mode & bits ? null : "no permission to write there";
}

/**
 * Checks, before anything is built or written, that `path`, given to
 * `flag`, can be written: as a file (`kind` "file": not a folder, its folder
 * there) or as a folder (`kind` "folder": not a file). With `create`, folders
 * that are missing may be made, so long as no file stands where one would
 * go. Throws a `UsageError` of one sentence naming the flag and the path;
 * writes nothing.
 */
export function checkOutputPath(
  flag: string,
  path: string,
  kind: "file" | "folder" = "file",
  create = false,
): void {
  const named = `${flag} ${path}`;
  if (path.trim() === "") throw new UsageError(`${flag} needs a path`);
  const info = statOrNull(path);
  if (info) {
    if (kind === "file" && info.isDirectory) {
      throw new UsageError(`${named} is a folder: give the path of a file`);
    }
    if (kind === "folder" && !info.isDirectory) {
      throw new UsageError(`${named} is a file, not a folder`);
    }
    const why = unwritable(path, info);
    if (why) throw new UsageError(`${named}: ${why}`);
    return;
  }
  if (kind === "folder" && !create) throw new UsageError(`${named}: no such folder`);
  for (let dir = folderOf(path);; dir = folderOf(dir)) {
    const up = statOrNull(dir);
    if (up && !up.isDirectory) throw new UsageError(`${named}: ${dir} is a file, not a folder`);
    if (up) {
      const why = unwritable(dir, up);
      if (why) throw new UsageError(`${named}: ${why}`);
      return;
    }
    if (!create) throw new UsageError(`${named}: there is no folder ${dir}`);
  }
}

/** The one line a mistake prints: `TASK: SENTENCE (deno task TASK --help)`. */
export function usageLine(task: string, message: string): string {
  return `${task}: ${message} (deno task ${task} --help)`;
}

/** One line on stderr and exit 2: how a command ends on a mistake its user can fix. */
export function exitWithUsage(task: string, message: string): never {
  console.error(usageLine(task, message));
  Deno.exit(2);
}

/**
 * `TASK: SENTENCE` on stderr and exit `code`: for what the flags were right
 * about but the machine refused (a port taken, a file missing), where --help
 * would not help.
 */
export function exitWithError(task: string, message: string, code = 2): never {
  console.error(`${task}: ${message}`);
  Deno.exit(code);
}

/** Exits 2 with one line for a `UsageError`; rethrows anything else. */
export function exitOnUsageError(task: string, e: unknown): never {
  if (e instanceof UsageError) exitWithUsage(task, e.message);
  throw e;
}
