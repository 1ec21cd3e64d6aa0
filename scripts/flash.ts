/**
 * Builds the firmware and puts it on a board with the Espruino command-line
 * tool (the `espruino` npm package, pinned in `scripts/flash/deno.json`), then checks that
 * the board runs it: the board must answer with the exact `VERSION` (version
 * and build hash) of the bundle just built.
 *
 * `deno task flash --port /dev/ttyUSB0 [build flags]`, or `--port
 * tcp://IP[:23]` for a board's telnet console. Code goes to flash by
 * default (the tool's `SAVE_ON_SEND=1`: kept across resets, run at boot, its
 * functions read from flash rather than copied to RAM); `--ram` sends it to
 * RAM for a quick try (gone at reset, and the code then takes RAM). Serial
 * ports default to 115200 baud (`--baud`), what ESP8266 boards use; they
 * reach the tool through `serial_bridge.ts` as a telnet port on 127.0.0.1,
 * because the tool's own serial path cannot read or write under Deno.
 * `--dry-run` builds and prints the exact tool calls without making them.
 * `--updates` flashes a build that takes updates over the air: the boot
 * file (`device/boot.ts`) as the boot code, and the bundle, the sample digits
 * and a fresh boot state as Storage files (`writeInstall`); the token, which
 * an update build does not carry, as the settings file `mnist.json`.
 *
 * The first flash on a machine fetches the tool's packages (about 270, 63
 * MB) into Deno's cache, saying so, before any `--timeout` starts
 * (`deno task install:flash` does the same ahead of time). Build-script
 * warnings of its packages are switched off in `scripts/flash/deno.json`,
 * and its libraries' deprecation warnings are not passed on.
 *
 * Why the settings passed to the tool: `--no-ble`, or the tool looks for
 * Bluetooth through D-Bus and dies where there is none; `SERIAL_THROTTLE_SEND=1`,
 * or it hangs on uploads of 512 bytes or less. The tool exits 0 even when it
 * could not connect, so success is read from what it prints, and each call
 * is killed after `--timeout` seconds (default 60): a port that does not
 * answer is an error within seconds, not a hang.
 *
 * Fetching and running the tool is `flash_tool.ts`'s, its calls
 * `flash_calls.ts`'s, checking `--port` `flash_port.ts`'s; this builds,
 * uploads and checks.
 *
 * @example
 * ```ts
 * import { main } from "./flash.ts";
 *
 * const code = await main(["--help"]); // prints the flags
 * console.log(code); // 0
 * ```
 * @module
 */
import { checkOutputPath, UsageError, usageLine } from "../cli/args.ts";
import { BuildError, buildFirmware, DEFAULT_OUT, type Firmware } from "../device/build.ts";
import { describe, installFiles, writeFirmware } from "../device/firmware_output.ts";
import { File } from "../device/boot_state.ts";
import { bootCode } from "../device/boot.ts";
import {
  parseSettingsFlags,
  SETTINGS_HELP,
  SettingsError,
  settingsFromFlags,
} from "../device/settings.ts";
import { SerialBridge, SerialBridgeError } from "./serial_bridge.ts";
import { fetchTool, FlashError, runCall } from "./flash_tool.ts";
import { commands, type FlashTarget, shellLine, versionFrom } from "./flash_calls.ts";
import { checkSerialPort, checkTcpPort, isTcp, PortError } from "./flash_port.ts";

/** The baud rate of ESP8266 boards' serial console. */
export const DEFAULT_BAUD = 115200;
/** Seconds each call of the tool may take. */
export const DEFAULT_TIMEOUT = 60;

const USAGE = `deno task flash --port PORT --server HOST[:PORT] [flags]

Builds the firmware, uploads it with the Espruino tool and checks that the board answers with
the new VERSION.

  --port PORT            /dev/ttyUSB0 (serial) or tcp://IP[:23] (telnet console); required
  --baud N               serial baud rate (default ${DEFAULT_BAUD}, what ESP8266 boards use)
  --ram                  upload to RAM for a quick try (default: save to flash, run at boot)
  --updates              a build that takes updates over the air (TCP, framed only): the boot
                         file as the boot code, the bundle as mnist0.js; --token goes to the
                         board's Storage (mnist.json), not into the bundle; no --ssid or
                         --password (save the WiFi on the board: require("Wifi").save())
  --dry-run              build, then print the tool calls instead of making them
  --timeout SECONDS      stop a call of the tool after this long (default ${DEFAULT_TIMEOUT})
  --out PATH             where the bundle is written (default ${DEFAULT_OUT})
${SETTINGS_HELP}
  --help                 this text`;

const RELAY_NOTE = "the tool's own serial path cannot read or write under Deno";

/** Runs the upload, then asks the board's VERSION; throws a `FlashError` unless it is `version`. */
async function uploadAndCheck(
  target: FlashTarget,
  port: string,
  version: string,
  timeout: number,
  echo: (line: string) => void,
): Promise<void> {
  const [upload, check] = await commands(target);
  echo(`Uploading to ${port} (${target.ram ? "RAM" : "flash"})...`);
  const up = await runCall(upload, timeout, (line) => echo(`  ${line}`));
  if (up.stopped || !up.lines.some((l) => /Upload Complete/.test(l))) {
    throw new FlashError(
      `could not upload to ${port}: ${up.stopped ?? `the tool ended (exit ${up.code})`}`,
    );
  }
  echo(`Checking the board's VERSION...`);
  const ask = await runCall(check, timeout, (line) => echo(`  ${line}`));
  const answer = versionFrom(ask.lines);
  if (answer !== version) {
    throw new FlashError(
      answer
        ? `the board answers VERSION ${answer}, not ${version}: the upload did not take`
        : `the board did not answer with its VERSION: ${ask.stopped ?? "no answer"}`,
    );
  }
}

/**
 * Writes beside the bundle at `file` what a first install puts into the
 * board's Storage besides it (`installFiles`): `boot.js` (uploaded as the
 * boot code, `.bootcde`), and the files the tool writes with `--storage`:
 * the bundle as `mnist0.js`, `mnist.digits`, `mnist.boot`, and with a
 * `token` `mnist.json` holding it (an update build carries none).
 */
export async function writeInstall(
  firmware: Firmware,
  file: string,
  token = "",
): Promise<{ boot: string; storage: [string, string][] }> {
  const slash = file.lastIndexOf("/");
  const dir = slash >= 0 ? file.slice(0, slash) : ".";
  const files = installFiles(firmware, await bootCode(), token);
  const storage: [string, string][] = [];
  let boot = "";
  for (const [name, text] of Object.entries(files)) {
    if (name === File.APP0) {
      storage.push([name, file]);
      continue;
    }
    const path = `${dir}/${name === ".bootcde" ? "boot.js" : name}`;
    await Deno.writeFile(path, Uint8Array.from(text, (c) => c.charCodeAt(0)));
    if (name === ".bootcde") boot = path;
    else storage.push([name, path]);
  }
  return { boot, storage };
}

/** `deno task flash`: returns the exit code. */
export async function main(
  args: string[],
  echo: (line: string) => void = (line) => console.log(line),
): Promise<number> {
  try {
    const flags = parseSettingsFlags(args, {
      port: { type: "string" },
      baud: { type: "string" },
      ram: { type: "boolean" },
      updates: { type: "boolean" },
      "dry-run": { type: "boolean" },
      timeout: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean" },
    });
    if (flags.help) {
      echo(USAGE);
      return 0;
    }
    const port = flags.port as string | undefined;
    if (!port) throw new SettingsError("no --port: pass /dev/ttyUSB0 or tcp://IP");
    if (isTcp(port)) checkTcpPort(port);
    const baud = Number(flags.baud ?? DEFAULT_BAUD);
    if (!(Number.isInteger(baud) && baud > 0)) {
      throw new SettingsError(`baud "${flags.baud}" is not a positive whole number`);
    }
    const timeout = Number(flags.timeout ?? DEFAULT_TIMEOUT);
    if (!(timeout > 0)) throw new SettingsError(`timeout "${flags.timeout}" is not seconds > 0`);
    const file = (flags.out as string | undefined) ?? DEFAULT_OUT;
    const settings = await settingsFromFlags(flags);
    const serial = !isTcp(port);
    // The bundle's folder can be written (missing folders are made), as `deno task build` checks.
    checkOutputPath("--out", file, "file", true);
    // The port is there before anything is built, written or fetched (a dry run needs no board).
    if (serial && !flags["dry-run"]) await checkSerialPort(port);

    const updates = !!flags.updates;
    // An update build carries no token: it goes to the board's Storage instead.
    const firmware = await buildFirmware(
      updates ? { ...settings, token: "" } : settings,
      undefined,
      { updates },
    );
    await writeFirmware(firmware, file);
    echo(describe(firmware, file) + (updates && settings.token ? ", token to Storage" : ""));
    // Update builds run from Storage under the boot file; the others are the boot code themselves.
    const { boot, storage } = firmware.updates
      ? await writeInstall(firmware, file, updates ? settings.token : "")
      : { boot: file, storage: [] };
    const ram = !!flags.ram;
    if (flags["dry-run"]) {
      // A serial port is relayed to a TCP port picked when it opens: "PORT" here.
      if (serial) echo(`relay ${port} at ${baud} baud to tcp://127.0.0.1:PORT (${RELAY_NOTE})`);
      const target = {
        port: serial ? "tcp://127.0.0.1:PORT" : port,
        baud,
        ram,
        file: boot,
        storage,
      };
      for (const call of await commands(target)) echo(shellLine(call));
      return 0;
    }
    await fetchTool(echo);
    let bridge: SerialBridge | null = null;
    if (serial) {
      try {
        bridge = await SerialBridge.open(port, baud);
      } catch (e) {
        if (e instanceof SerialBridgeError) throw new FlashError(e.message);
        throw e;
      }
    }
    try {
      const target = {
        port: bridge ? `tcp://127.0.0.1:${bridge.port}` : port,
        baud,
        ram,
        file: boot,
        storage,
      };
      await uploadAndCheck(target, port, firmware.version, timeout, echo);
    } finally {
      bridge?.close();
    }
    echo(`Flashed ${firmware.version} to ${port} (${ram ? "RAM" : "flash"}).`);
    return 0;
  } catch (e) {
    const usage = e instanceof SettingsError || e instanceof UsageError;
    if (usage) console.error(usageLine("flash", e.message));
    else if (e instanceof BuildError || e instanceof FlashError) {
      console.error(`flash: ${e.message}`);
    } else throw e;
    return usage || e instanceof PortError ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
