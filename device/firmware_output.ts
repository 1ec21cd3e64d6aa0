/**
 * What is made of a built firmware (`build.ts`): its file (`writeFirmware`),
 * the Storage files of a first install (`installFiles`, what `deno task
 * flash --updates` writes), and the one line that describes it (`describe`).
 *
 * @module
 */
import { File } from "./boot_state.ts";
import { type Firmware, SIZE_BUDGET } from "./build.ts";

/**
 * The board's Storage files of a first install, as `deno task flash` writes
 * them: the boot file (`.bootcde`, see `boot.ts`), the application as
 * `mnist0.js`, the sample digits, and a fresh boot state (so a board that
 * ran an update before runs this application again); with a `token`, the
 * settings file holding it (`mnist.json`, as `setToken()` writes it).
 */
export function installFiles(
  firmware: Firmware,
  boot: string,
  token = "",
): Record<string, string> {
  return {
    [File.DIGITS]: firmware.digits,
    [File.APP0]: firmware.code,
    [File.STATE]: "{}",
    ".bootcde": boot,
    // The token an update build does not carry, where `setToken()` keeps it.
    ...(token ? { [File.SETTINGS]: JSON.stringify({ token }) } : {}),
  };
}

/** Writes a firmware to `path`, making its folder; owner-only when it holds a WiFi password. */
export async function writeFirmware(firmware: Firmware, path: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  await Deno.writeTextFile(path, firmware.code, {
    mode: firmware.settings.password ? 0o600 : 0o644,
  });
}

/** One line about a firmware: where, how big, which version and settings. */
export function describe(firmware: Firmware, path: string): string {
  const s = firmware.settings;
  const speaks = s.protocol === "mqtt"
    ? `MQTT to the broker ${s.host}:${s.port} as ${s.device || "its serial"}`
    : firmware.updates
    ? `framed to ${s.host}:${s.port}`
    : `both protocols, ${s.protocol} by default, to ${s.host}:${s.port}`;
  return `${path}: ${firmware.size.toLocaleString("en-US")} bytes of ` +
    `${SIZE_BUDGET.toLocaleString("en-US")}${
      firmware.updates ? " (updates)" : ""
    }, VERSION ${firmware.version}, ${speaks}, WiFi ${
      s.ssid ? `"${s.ssid}"` : "as saved on the board"
    }` +
    (s.poll ? `, polling every ${s.poll} s` : "") +
    (s.token ? `, token built in${s.protocol === "legacy" ? " (for framed)" : ""}` : "");
}
