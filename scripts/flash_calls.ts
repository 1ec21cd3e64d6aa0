/**
 * The Espruino tool's calls `deno task flash` (`flash.ts`) makes: the upload
 * and the check that asks the board's `VERSION`, as arguments
 * (`cliCalls`), as whole commands running the pinned tool (`commands`) and
 * as shell lines for `--dry-run` (`shellLine`); and the version read back
 * from what the board printed (`versionFrom`).
 *
 * @example
 * ```ts
 * import { cliCalls } from "./flash_calls.ts";
 *
 * const calls = cliCalls({ port: "/dev/ttyUSB0", baud: 115200, ram: false, file: "dist/firmware.js" });
 * console.log(calls.map((c) => c.join(" ")).join("\n")); // the upload, then the check
 * ```
 * @module
 */
import { espruinoSpecifier, TOOL_CONFIG } from "./flash_tool.ts";
import { isTcp } from "./flash_port.ts";

/** The expression that asks a board for its firmware's version; its answer starts `firmware `. */
export const VERSION_QUERY = 'print("firmware "+(typeof VERSION=="string"?VERSION:"none"))';

/** Where and how to upload. */
export interface FlashTarget {
  /** A serial device, or tcp://IP[:PORT] (telnet console, port 23 by default). */
  port: string;
  baud: number;
  /** To RAM instead of flash. */
  ram: boolean;
  /** The code the board boots (saved as `.bootcde`): the boot file (`device/boot.ts`). */
  file: string;
  /** Storage files written first: name and the local file (the application, the digits, the boot state). */
  storage?: [string, string][];
}

/** The tool's arguments for the upload and for the check, in order (after `deno run -A SPEC`). */
export function cliCalls(target: FlashTarget): string[][] {
  const connect = ["--no-ble", "-p", target.port];
  if (!isTcp(target.port)) connect.push("-b", String(target.baud));
  const storage = (target.storage ?? []).flatMap((
    [name, path],
  ) => ["--storage", `${name}:${path}`]);
  return [
    [
      ...connect,
      ...storage,
      "--config",
      `SAVE_ON_SEND=${target.ram ? 0 : 1}`,
      "--config",
      "SERIAL_THROTTLE_SEND=1",
      target.file,
    ],
    [...connect, "-e", VERSION_QUERY],
  ];
}

/** `args` as one line a POSIX shell would run as is. */
export function shellLine(args: string[]): string {
  return args.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'"'"'`)}'`)
    .join(" ");
}

/**
 * The whole command of each call: this Deno running the pinned tool with its
 * own configuration and lock (`--frozen`: exactly the locked packages).
 */
export async function commands(target: FlashTarget): Promise<string[][]> {
  const spec = await espruinoSpecifier();
  return cliCalls(target).map((
    args,
  ) => [Deno.execPath(), "run", "-A", "--frozen", "--config", TOOL_CONFIG, spec, ...args]);
}

/** The version a board printed in answer to `VERSION_QUERY`, or null. */
export function versionFrom(lines: string[]): string | null {
  for (const line of lines) {
    const match = /(?:^|[\s>])firmware (\S+)\s*$/.exec(line);
    if (match) return match[1];
  }
  return null;
}
