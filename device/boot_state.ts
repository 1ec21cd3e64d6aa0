/**
 * What the boot file (`boot.ts`, Storage `.bootcde`) and the application
 * (`firmware.ts` with `updater.ts`) share in the board's Storage: the file
 * names and the boot state, `mnist.boot`, a JSON object:
 *
 * - `a`: the application file that runs (`mnist0.js` when absent: the one
 *   `deno task flash` writes), `b`: the one before it, kept for a roll-back;
 * - `t`: present while `a` is new and on trial: the boots it has had;
 * - `v`: the release `a` holds, while on trial;
 * - `r`: a report the application sends on its next request:
 *   `[state, release, reason]` (`VERIFIED` or `FAILED` after a download,
 *   `ROLLED_BACK` after a roll-back);
 * - `d`: a download for the boot file to check at the next start:
 *   `[file, release, CRC-32, MAC, token]` (the MAC raw, "" without a token);
 * - `f`: the last release fetched (checked by the boot file, gone back
 *   from, or failed while fetching): offered again, it is not fetched again.
 *
 * Keys are single letters that `mangled_properties.ts` never lists (`OWN_PROPERTIES`):
 * the boot file and the application are built apart and must agree.
 *
 * @example
 * ```ts
 * import { type BootState, File, UpdateState } from "./boot_state.ts";
 *
 * const trial: BootState = { a: File.APP1, b: File.APP0, t: 1, v: "mnist-device/1.0.1+0badc0de" };
 * const rolledBack: BootState = { a: File.APP0, b: File.APP1, r: [UpdateState.ROLLED_BACK, trial.v!, "no reply"] };
 * console.log(JSON.stringify(rolledBack));
 * ```
 * @module
 */

/** Storage file names (a `const enum`: inlined, no variables on the board). */
export const enum File {
  STATE = "mnist.boot",
  APP0 = "mnist0.js",
  APP1 = "mnist1.js",
  /** The bundled sample digits, written by `deno task flash`. */
  DIGITS = "mnist.digits",
  /**
   * The settings changed at the REPL (`firmware.ts`): `{host, port,
   * protocol, token}` of TCP builds, `{broker, brokerPort, device}` of MQTT
   * builds, each optional (either kind, flashed over the other, starts from
   * its own); and the token `flash --updates --token` writes.
   */
  SETTINGS = "mnist.json",
}

/** The schema's `UpdateState` values the board sends. */
export const enum UpdateState {
  DOWNLOADING = 2,
  VERIFIED = 3,
  UPDATED = 4,
  FAILED = 5,
  ROLLED_BACK = 6,
}

/** A report: the state, the release, the reason ("" for none). */
export type Report = [number, string, string];

/** The boot state, `mnist.boot`. */
export interface BootState {
  a?: string;
  b?: string;
  t?: number;
  v?: string;
  r?: Report;
  d?: [string, string, number, string, string];
  f?: string;
}
