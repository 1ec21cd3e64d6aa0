/**
 * Builds the firmware: bundles `firmware.ts` with the shared codec, unchanged,
 * into one minified file for the Espruino interpreter, with the board's
 * settings fixed in (esbuild `define`) as its defaults, then checks it: it
 * must parse, keep to the Espruino subset (`check_subset.ts`) and fit the
 * 6 KB budget, or the build fails. A TCP bundle carries both protocols,
 * with the request templates of both; `--protocol` is the one it starts
 * with. `--transport mqtt` builds for a broker instead (`mqtt_client.ts` in
 * place of `tcp_client.ts`, nothing of TCP: esbuild drops what the `MQTT`
 * constant rules out).
 *
 * `deno task build --server HOST[:PORT] [--protocol framed|legacy |
 * --transport mqtt [--device NAME]] [--ssid NAME --password PASS] [--poll
 * SECONDS] [--token T] [--out dist/firmware.js]` prints the bundle's path
 * and size. Settings also come
 * from `device/config.json` (see `settings.ts`); flags override it.
 *
 * How the output stays in the subset: target ES2015 (esbuild lowers `**`,
 * `?.`, `??` and `catch {}` for it); TypeScript class fields compiled as
 * assignments in the constructor, never as class fields or `__publicField`
 * calls (`useDefineForClassFields: false`); CommonJS output wrapped in a
 * function by hand, because esbuild's IIFE format wraps `require("net")` in a
 * shim that needs `Proxy`, while CommonJS leaves it as it is; ASCII output,
 * because the Espruino tools replace other characters.
 *
 * @example
 * ```ts
 * import { buildFirmware } from "./build.ts";
 *
 * const firmware = await buildFirmware({
 *   host: "192.168.1.10",
 *   port: 32001,
 *   protocol: "framed",
 *   ssid: "",
 *   password: "",
 *   token: "",
 *   poll: 0,
 * });
 * console.log(firmware.size, firmware.version); // 5xxx "1.0.0+1a2b3c4d"
 * ```
 * @module
 */
import {
  type BuildOptions as EsbuildOptions,
  loadEsbuild,
  ToolPackageError,
} from "../tools/packages.ts";
import { DIGIT_PIXELS, TOKEN_LENGTH } from "../shared/codec.ts";
import { STATUS_NAME_LIST } from "../shared/errors.ts";
import { checkSubset, formatViolations } from "./check_subset.ts";
import { MANGLED } from "./mangled_properties.ts";
import { packedSampleDigits, storedSampleDigits } from "./sample_digits.ts";
import { requestTemplate, type UpdateLayout } from "./request.ts";
import { countSamples, samplesBytes } from "./samples.ts";
import { type Settings, SettingsError } from "./settings.ts";
import { escapeControls, isPrintableAscii } from "./bundle_ascii.ts";
import { updateSettingsError } from "./update_settings.ts";

/** The firmware's version; the build adds `+` and eight hex digits of the bundle's hash. */
export const FIRMWARE_VERSION = "1.0.0";
/** The most bytes a bundle may have: what the board's memory plan allows for code. */
export const SIZE_BUDGET = 6144;
/** Where `deno task build` writes, unless `--out` says otherwise. */
export const DEFAULT_OUT = "dist/firmware.js";

/** Stands for the build id until the hash of the bundle is known; as long as one. */
const BUILD_ID_PLACEHOLDER = "@BUILD@@";

/** The firmware's name in a board's `client` string: what releases and rollouts name. */
export const FIRMWARE_NAME = "mnist-device";
/**
 * The MQTT build's own name: it has no updater, and an offer of a TCP build's
 * release would not fit its 256-byte reply buffer (with the topic), so no
 * rollout of `FIRMWARE_NAME` may reach it.
 */
export const MQTT_FIRMWARE_NAME = "mnist-device-mqtt";

/** The `client` string a board sends on a connection's first request: its name and VERSION. */
export function clientName(
  build: string,
  version: string = FIRMWARE_VERSION,
  mqtt = false,
): string {
  return `${mqtt ? MQTT_FIRMWARE_NAME : FIRMWARE_NAME} ${version}+${build}`;
}

/**
 * Only these: the firmware's constant tables are `const enum`s, which esbuild
 * inlines (no variables on the board) unless their keys are mangled.
 */

/** A build that cannot be used, with a sentence saying why. */
export class BuildError extends Error {}

/** A built firmware. */
export interface Firmware {
  /** The bundle, ASCII. */
  code: string;
  /** Its length in bytes. */
  size: number;
  /** `FIRMWARE_VERSION+build`, the value of `VERSION` on the board. */
  version: string;
  settings: Settings;
  /** The sample digits `test()` sends, as update builds read them from Storage (`storedSampleDigits`). */
  digits: string;
  /** Whether it carries the updater (`--updates`): then it runs from Storage under the boot file. */
  updates: boolean;
}

/** How to build, besides the settings. */
export interface BuildOptions {
  /** Goes before the build hash (default `FIRMWARE_VERSION`). */
  version?: string;
  /** With the updater (default false); TCP only. */
  updates?: boolean;
}

/** The esbuild options for `settings` (without the entry point's `define`s of the samples). */
export function esbuildOptions(
  settings: Settings,
  samples: string,
  version: string = FIRMWARE_VERSION,
  updates = false,
): EsbuildOptions {
  const mqtt = settings.protocol === "mqtt";
  const request = requestTemplate(
    "framed",
    clientName(BUILD_ID_PLACEHOLDER, version, mqtt),
    updates,
  );
  const update = request.update;
  // The board keeps one buffer, a framed request, for both protocols: the
  // digit must be its end, where legacy's last float comes from.
  if (request.digitAt + DIGIT_PIXELS !== request.size) {
    throw new BuildError("the framed request template does not end with the digit");
  }
  // The board writes a frame's length as `end - 4` and `end >> 8` (exchange.ts).
  const ends = update ? [request.size, request.digitAt + update.end] : [request.size];
  for (const end of ends) {
    if ((end & 255) < 4) {
      throw new BuildError(`a request ending at ${end} needs its length's borrow`);
    }
  }
  return {
    entryPoints: [new URL("./firmware.ts", import.meta.url).pathname],
    bundle: true,
    write: false,
    minify: true,
    format: "cjs",
    platform: "neutral",
    target: "es2015",
    charset: "ascii",
    legalComments: "none",
    external: ["net", "Wifi", "Storage", "crypto"],
    banner: { js: "(function(){" },
    footer: { js: "})();" },
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
    mangleProps: MANGLED,
    reserveProps: /^VERSION$/,
    logLevel: "silent",
    define: {
      SERVER_HOST: JSON.stringify(settings.host),
      SERVER_PORT: String(settings.port),
      PROTOCOL: JSON.stringify(settings.protocol),
      MQTT: String(settings.protocol === "mqtt"),
      UPDATES: String(updates),
      DEVICE: JSON.stringify(settings.device ?? ""),
      LEGACY_HEAD: JSON.stringify(requestTemplate("legacy").head),
      REQUEST_SIZE: String(request.size),
      REQUEST_HEAD: JSON.stringify(request.head),
      DIGIT_AT: String(request.digitAt),
      ID_AT: String(request.idAt),
      TOKEN_AT: String(request.tokenAt),
      TOKEN_LENGTH: String(TOKEN_LENGTH),
      TOKEN_SLOT_AT: String(request.tokenSlotAt),
      TOKEN_SLOT: String(request.tokenSlot),
      CLIENT_SLOT_AT: String(request.clientSlotAt),
      CLIENT_SLOT: String(request.clientSlot),
      DEVICE_SLOT_AT: String(request.deviceSlotAt),
      DEVICE_SLOT: String(request.deviceSlot),
      // What no build without updates refers to (esbuild drops the code under `UPDATES`).
      ...(update ? updateDefines(update) : {}),
      "globalThis.MNIST_NO_UPDATES": String(!updates),
      TOKEN: JSON.stringify(settings.token),
      STATUS_NAMES: JSON.stringify(STATUS_NAME_LIST),
      WIFI_SSID: JSON.stringify(settings.ssid),
      WIFI_PASSWORD: JSON.stringify(settings.password),
      POLL_SECONDS: String(settings.poll),
      FIRMWARE_VERSION: JSON.stringify(`${version}+${BUILD_ID_PLACEHOLDER}`),
      // Update builds read the digits from Storage (`installFiles`).
      SAMPLES: JSON.stringify(updates ? "" : samples),
      SAMPLE_COUNT: String(countSamples(samplesBytes(samples))),
    },
  };
}

/** The constants of an update build: where the update request's fields are (`UpdateLayout`). */
function updateDefines(update: UpdateLayout): Record<string, string> {
  return {
    CMD_AT: String(update.cmdAt),
    INPUT_SLOT_AT: String(update.inputSlotAt),
    INPUT_SLOT: String(update.inputSlot),
    ERROR_SLOT_AT: String(update.errorSlotAt),
    ERROR_SLOT: String(update.errorSlot),
    UPDATE_SLOT_AT: String(update.updateSlotAt),
    UPDATE_SLOT: String(update.updateSlot),
    CHUNK_SLOT_AT: String(update.chunkSlotAt),
    CHUNK_SLOT: String(update.chunkSlot),
    UPDATE_HEAD: JSON.stringify(update.head),
    OFFSET_AT: String(update.offsetAt),
    STATE_AT: String(update.stateAt),
    RELEASE_AT: String(update.releaseAt),
    REASON_AT: String(update.errorAt),
    UPDATE_END: String(update.end),
  };
}

async function hashHex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Builds and checks the firmware for `settings`; throws a `BuildError` when it
 * is unusable, or bigger than `budget` bytes (default `SIZE_BUDGET`, for
 * every build), and a `SettingsError` for settings an update build refuses
 * (`updateSettingsError`).
 */
export async function buildFirmware(
  settings: Settings,
  budget: number = SIZE_BUDGET,
  options: BuildOptions = {},
): Promise<Firmware> {
  const version = options.version ?? FIRMWARE_VERSION;
  const updates = options.updates ?? false;
  const refused = updates ? updateSettingsError(settings) : "";
  if (refused) throw new SettingsError(refused);
  const esbuild = loadEsbuild();
  if (esbuild instanceof ToolPackageError) throw new BuildError(esbuild.message);
  let result;
  try {
    result = await esbuild.build(esbuildOptions(settings, packedSampleDigits(), version, updates));
  } catch (e) {
    throw new BuildError(`esbuild failed: ${(e as Error).message}`);
  } finally {
    // The service process would keep Deno (and a test) running.
    await esbuild.stop();
  }
  const bundled = result.outputFiles![0].text;
  const build = (await hashHex(bundled)).slice(0, BUILD_ID_PLACEHOLDER.length);
  // The request template carries the client string, VERSION included, in base64.
  const heads = [BUILD_ID_PLACEHOLDER, build].map((id) =>
    JSON.stringify(
      requestTemplate("framed", clientName(id, version, settings.protocol === "mqtt"), updates)
        .head,
    )
  );
  const code = escapeControls(
    bundled.replace(heads[0], heads[1]).replaceAll(BUILD_ID_PLACEHOLDER, build),
  );
  const violations = checkSubset(code);
  if (violations.length) {
    throw new BuildError(
      `the bundle leaves the Espruino subset:\n${formatViolations("bundle", violations)}`,
    );
  }
  if (!isPrintableAscii(code)) throw new BuildError("the bundle is not printable ASCII");
  const size = code.length;
  if (size > budget) {
    throw new BuildError(
      `the bundle is ${size} bytes, over the ${budget}-byte budget by ${size - budget}`,
    );
  }
  return {
    code,
    size,
    version: `${version}+${build}`,
    settings,
    digits: storedSampleDigits(),
    updates,
  };
}
