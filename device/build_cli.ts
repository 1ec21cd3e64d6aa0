/**
 * `deno task build`: the firmware builder's command line (`build.ts` builds).
 * Prints the bundle's path and size; `--release DIR` also writes it as a
 * release, `--check` builds the longest settings of every kind and writes
 * nothing.
 *
 * @example
 * ```ts
 * import { main } from "./build_cli.ts";
 *
 * const code = await main(["--check"]); // 0: every kind fits
 * console.log(code);
 * ```
 * @module
 */
import { checkOutputPath, UsageError, usageLine } from "../cli/args.ts";
import {
  BuildError,
  buildFirmware,
  clientName,
  DEFAULT_OUT,
  FIRMWARE_VERSION,
  SIZE_BUDGET,
} from "./build.ts";
import { describe, writeFirmware } from "./firmware_output.ts";
import { writeRelease } from "../server/fleet/releases.ts";
import {
  parseSettingsFlags,
  type Settings,
  SETTINGS_HELP,
  SettingsError,
  settingsFromFlags,
} from "./settings.ts";

const USAGE = `deno task build --server HOST[:PORT] [flags]

Builds the firmware into one minified file and prints its path and size.

${SETTINGS_HELP}
  --out PATH             where to write (default ${DEFAULT_OUT}; missing folders are made)
  --updates              with the updater: the board takes updates over the air. TCP and
                         framed only (no legacy); no --token, --ssid or --password (a
                         release goes to every board: flash --updates --token T writes
                         the token to the board's Storage; WiFi is what Wifi.save() kept)
  --release DIR          also write it as a release for over-the-air updates:
                         DIR/NAME/VERSION/firmware.js and release.json (the
                         server's --firmware-dir; made if missing); implies --updates
  --check                build with the longest settings: TCP starting framed and legacy,
                         MQTT, and TCP with --updates; check each against the
                         ${SIZE_BUDGET.toLocaleString("en-US")}-byte budget, write nothing
  --help                 this text`;

/** Settings for `--check`: the longest WiFi credentials and a token, the worst case for the size. */
export const EXAMPLE_SETTINGS: Settings = {
  host: "192.168.100.100",
  port: 32001,
  protocol: "framed",
  ssid: "s".repeat(32),
  password: "p".repeat(64),
  token: "t".repeat(32),
  poll: 3600,
};

/**
 * What `--check` builds: a TCP bundle carries both protocols (the built-in
 * one only its default), so starting either way; an MQTT bundle, MQTT
 * alone, with the longest device id (64 characters).
 */
export const CHECK_VARIANTS: Settings[] = [
  EXAMPLE_SETTINGS,
  { ...EXAMPLE_SETTINGS, protocol: "legacy" },
  { ...EXAMPLE_SETTINGS, protocol: "mqtt", port: 1883, device: "d".repeat(64) },
];

/**
 * The longest settings an update build takes: no token or WiFi credentials
 * (`updateSettingsError`), polling from start-up.
 */
export const UPDATE_CHECK_SETTINGS: Settings = {
  ...EXAMPLE_SETTINGS,
  ssid: "",
  password: "",
  token: "",
};

/** `deno task build`: returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const flags = parseSettingsFlags(args, {
      out: { type: "string" },
      release: { type: "string" },
      updates: { type: "boolean" },
      check: { type: "boolean" },
      help: { type: "boolean" },
    });
    if (flags.help) {
      console.log(USAGE);
      return 0;
    }
    if (flags.check) {
      for (const settings of CHECK_VARIANTS) {
        const firmware = await buildFirmware(settings);
        console.log(
          describe(firmware, `(${settings.protocol}, not written)`) + ", in the Espruino subset",
        );
      }
      const firmware = await buildFirmware(UPDATE_CHECK_SETTINGS, undefined, { updates: true });
      console.log(
        describe(firmware, "(framed, --updates, not written)") + ", in the Espruino subset",
      );
      return 0;
    }
    // An updated board must be able to update again: releases carry the updater.
    const updates = !!(flags.updates || flags.release);
    const settings = await settingsFromFlags(flags);
    const out = (flags.out as string | undefined) ?? DEFAULT_OUT;
    // Both places can be written (missing folders are made) before anything is built.
    checkOutputPath("--out", out, "file", true);
    if (flags.release) checkOutputPath("--release", flags.release as string, "folder", true);
    const firmware = await buildFirmware(settings, undefined, { updates });
    await writeFirmware(firmware, out);
    console.log(describe(firmware, out));
    if (flags.release) {
      const client = clientName(firmware.version.slice(FIRMWARE_VERSION.length + 1));
      console.log(
        `release: ${await writeRelease(flags.release as string, client, firmware.code)}`,
      );
    }
    return 0;
  } catch (e) {
    const usage = e instanceof SettingsError || e instanceof UsageError;
    if (usage) console.error(usageLine("build", e.message));
    else if (e instanceof BuildError) console.error(`build: ${e.message}`);
    else throw e;
    return usage ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
