/**
 * A board's settings: which server, which protocol, which WiFi network.
 * They come from `device/config.json` (git-ignored; copy
 * `device/config.example.json`) and from flags, which override it, and are
 * fixed into the firmware at build time: nobody edits source to configure a
 * board.
 *
 * Flags (shared by `deno task build` and `deno task flash`):
 * `--server HOST[:PORT]` (port 32001 when left out), `--protocol
 * framed|legacy`, `--ssid NAME --password PASS` (without an SSID the board
 * uses the credentials it saved with `Wifi.save()`), `--poll SECONDS` (poll
 * from start-up; 0, the default, waits for `start()` at the REPL), `--token
 * T` and `--config PATH`.
 *
 * Every TCP bundle carries both protocols; `--protocol` picks the one the
 * board starts with, and `setServer(host, port, protocol)` at the board's
 * REPL changes it, as it changes the server, kept in the board's Storage.
 * `--transport mqtt` builds for a broker instead (port 1883 when left
 * out), speaking MQTT only; `--device NAME` is then the board's id in the
 * topics (default: its `getSerial()`; with the server's tokens, the
 * token's name).
 *
 * `--token` is the device's 32-character token (`deno task token NAME` on
 * the server prints one), sent in every framed request; built in as the
 * default, and changeable on the board with `setToken()`, which keeps it in
 * the board's Storage. Legacy requests cannot carry one: a board that
 * speaks legacy keeps its token for when it is switched to framed. An
 * update build (`--updates`, `--release`) carries neither a token nor WiFi
 * credentials and speaks framed only (`update_settings.ts` `updateSettingsError`):
 * `deno task flash --updates --token T` puts the token in Storage instead.
 *
 * @example
 * ```ts
 * import { loadSettings } from "./settings.ts";
 *
 * const settings = await loadSettings(["--server", "192.168.1.10", "--protocol", "legacy"]);
 * console.log(settings.host, settings.port, settings.protocol); // 192.168.1.10 32001 legacy
 * ```
 * @module
 */
import { parseFlags, parseHostPort, UsageError } from "../cli/args.ts";
import { DEVICE_NAME_RULE, isDeviceName } from "../shared/device_name.ts";
import { tableDefault } from "../server/config.ts";
import { TOKEN_LENGTH } from "../shared/codec.ts";

/** The server's port when `--server` names only a host: the server's own default. */
export const DEFAULT_PORT = tableDefault("port");
/** The broker's port when `--transport mqtt --server` names only a host. */
export const DEFAULT_MQTT_PORT = 1883;
/** Where the settings file is, unless `--config` says otherwise. */
export const DEFAULT_CONFIG = new URL("./config.json", import.meta.url);

/** Everything a build needs to know about the board's setting. */
export interface Settings {
  /** The server's, or with "mqtt" the broker's. */
  host: string;
  port: number;
  /** "mqtt": a build for MQTT (`--transport mqtt`), which speaks nothing else. */
  protocol: "framed" | "legacy" | "mqtt";
  /** MQTT: the board's id in the topics ("" or absent: its serial). */
  device?: string;
  /** "" uses the credentials saved on the board. */
  ssid: string;
  password: string;
  /** The device's token: 32 characters, or "" for none. */
  token: string;
  /** Seconds between requests from start-up; 0 waits for `start()`. */
  poll: number;
}

/** The settings file: the same names, `server` as "HOST[:PORT]". */
export interface ConfigFile {
  server?: string;
  transport?: string;
  protocol?: string;
  device?: string;
  ssid?: string;
  password?: string;
  token?: string;
  poll?: number;
}

/** A setting that cannot be used, with a sentence saying which and why. */
export class SettingsError extends Error {}

/** The settings flags, for `parseArgs`; tools add their own to these. */
export const SETTINGS_FLAGS = {
  server: { type: "string" },
  transport: { type: "string" },
  protocol: { type: "string" },
  device: { type: "string" },
  ssid: { type: "string" },
  password: { type: "string" },
  token: { type: "string" },
  poll: { type: "string" },
  config: { type: "string" },
} as const;

/** Help text for the settings flags. */
export const SETTINGS_HELP = `Settings (flags override device/config.json):
  --server HOST[:PORT]   the inference server (port ${DEFAULT_PORT} when left out), or with
                         --transport mqtt the broker (port ${DEFAULT_MQTT_PORT}); required
  --transport T          tcp (default: the server's board port) or mqtt (through a broker,
                         to servers started with --mqtt; the build speaks MQTT only)
  --device NAME          mqtt: the board's id in the topics mnist/NAME/infer and /result
                         (default: its getSerial()); with tokens, the token's name
  --protocol P           the protocol the board starts with (the bundle carries both;
                         setServer() on the board switches): framed (default: keep-alive,
                         digits as bytes) or legacy (one connection per request, digits
                         as floats, for old servers)
  --ssid NAME            WiFi network; without it the board uses what Wifi.save() saved
  --password PASS        WiFi password
  --poll SECONDS         send a digit every SECONDS from start-up (default 0: wait for start())
  --token T              the device's 32-character token (from deno task token NAME), sent
                         in every framed request (legacy has no room for it); setToken()
                         on the board changes it
  --config PATH          the settings file (default device/config.json)`;

const KEYS = ["server", "transport", "protocol", "device", "ssid", "password", "token", "poll"];

/** Splits "HOST[:PORT]" (`parseHostPort`); `defaultPort` when there is none. */
export function parseServer(
  text: string,
  defaultPort = DEFAULT_PORT,
): { host: string; port: number } {
  try {
    return parseHostPort(text, defaultPort);
  } catch (e) {
    if (e instanceof UsageError) throw new SettingsError(e.message);
    throw e;
  }
}

/**
 * Reads a settings file; a missing file is an empty one, unless `required`
 * (a file the user named with `--config`): then it is a `SettingsError`.
 */
export async function readConfig(path: string | URL, required = false): Promise<ConfigFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    if (required) throw new SettingsError(`--config ${path}: no such file`);
    return {};
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new SettingsError(`${path}: not JSON: ${(e as Error).message}`);
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new SettingsError(`${path}: expected a JSON object`);
  }
  for (const [key, value] of Object.entries(config)) {
    if (!KEYS.includes(key)) {
      throw new SettingsError(`${path}: unknown setting "${key}" (known: ${KEYS.join(", ")})`);
    }
    const number = key === "poll";
    if (number ? typeof value !== "number" : typeof value !== "string") {
      throw new SettingsError(`${path}: "${key}" must be a ${number ? "number" : "string"}`);
    }
  }
  return config as ConfigFile;
}

/** Text that goes into the firmware: printable ASCII (the board's strings are bytes). */
function ascii(name: string, value: string, max: number): string {
  if (!/^[\x20-\x7e]*$/.test(value)) {
    throw new SettingsError(`${name} must be printable ASCII`);
  }
  if (value.length > max) throw new SettingsError(`${name} is longer than ${max} characters`);
  return value;
}

/** A token: 32 printable characters (sent by framed requests only); "" for none. */
function token(value: string): string {
  if (!value) return value;
  ascii("token", value, TOKEN_LENGTH);
  if (value.length !== TOKEN_LENGTH) {
    throw new SettingsError(
      `token must be exactly ${TOKEN_LENGTH} characters (it is ${value.length})`,
    );
  }
  return value;
}

/** Merges the file and the flags (flags win) and checks every value. */
export function resolveSettings(config: ConfigFile, flags: Record<string, unknown>): Settings {
  const pick = (key: keyof ConfigFile) =>
    flags[key] !== undefined ? flags[key] as string : config[key];
  const server = pick("server");
  if (!server) {
    throw new SettingsError(
      'no server: pass --server HOST[:PORT] or set "server" in device/config.json',
    );
  }
  const transport = String(pick("transport") ?? "tcp");
  if (transport !== "tcp" && transport !== "mqtt") {
    throw new SettingsError(`transport "${transport}" is not tcp or mqtt`);
  }
  const mqtt = transport === "mqtt";
  const tcpProtocol = pick("protocol");
  if (mqtt && tcpProtocol !== undefined) {
    throw new SettingsError("--protocol is for --transport tcp (an MQTT build speaks MQTT only)");
  }
  const protocol = mqtt ? "mqtt" : String(tcpProtocol ?? "framed");
  if (protocol !== "framed" && protocol !== "legacy" && protocol !== "mqtt") {
    throw new SettingsError(`protocol "${protocol}" is not framed or legacy`);
  }
  const device = String(pick("device") ?? "");
  if (device && !mqtt) {
    throw new SettingsError(
      "--device is for --transport mqtt (on TCP the token or the serial names the board)",
    );
  }
  if (device && !isDeviceName(device)) {
    throw new SettingsError(
      `device "${device}" must be ${DEVICE_NAME_RULE}`,
    );
  }
  const poll = Number(pick("poll") ?? 0);
  if (!(poll >= 0 && poll <= 86400)) {
    throw new SettingsError(`poll "${pick("poll")}" is not a number of seconds 0..86400`);
  }
  const ssid = ascii("ssid", String(pick("ssid") ?? ""), 32);
  const password = ascii("password", String(pick("password") ?? ""), 64);
  if (password && !ssid) throw new SettingsError("a WiFi password needs an --ssid");
  return {
    ...parseServer(String(server), mqtt ? DEFAULT_MQTT_PORT : DEFAULT_PORT),
    protocol: protocol as Settings["protocol"],
    ...(device ? { device } : {}),
    ssid,
    password,
    token: token(String(pick("token") ?? "")),
    poll,
  };
}

/** A tool's flags: the settings flags plus `extra` ones (`parseArgs` options). */
export type Flags = Record<string, string | boolean | undefined>;

/** Parses a tool's arguments: the settings flags plus `extra`; unknown flags are errors. */
export function parseSettingsFlags(args: string[], extra: Record<string, unknown>): Flags {
  try {
    return parseFlags({
      args,
      // deno-lint-ignore no-explicit-any
      options: { ...SETTINGS_FLAGS, ...extra } as any,
      strict: true,
      allowPositionals: false,
    }).values as Flags;
  } catch (e) {
    if (e instanceof UsageError) throw new SettingsError(e.message);
    throw e;
  }
}

/**
 * The settings that `flags` and the settings file make: `--config`'s, which
 * must exist, or the default, which may be absent.
 */
export async function settingsFromFlags(flags: Flags): Promise<Settings> {
  const named = flags.config as string | undefined;
  const config = await readConfig(named ?? DEFAULT_CONFIG, named !== undefined);
  return resolveSettings(config, flags);
}

/** The settings from settings flags and the settings file. */
export async function loadSettings(args: string[]): Promise<Settings> {
  return await settingsFromFlags(parseSettingsFlags(args, {}));
}
