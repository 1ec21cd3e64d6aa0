/**
 * The board code update tests' server: a real server (admin token `ADMIN`)
 * whose `--firmware-dir` holds one release, `RELEASE`, of the code `CODE`,
 * at version `NEW`; the boards of the tests run `OLD`.
 *
 * @example
 * ```ts
 * import { RELEASE, withUpdates } from "./code_updates.ts";
 *
 * await withUpdates({}, async (server) => {
 *   const started = server.updates.start({ release: RELEASE, share: 1, devices: null, perMinute: 10 });
 *   console.log(started); // the rollout started (or why not)
 * });
 * ```
 * @module
 */
import { fakeFirmware, NAME, releaseDir } from "./releases.ts";
import { ADMIN } from "./rollout.ts";
import { withServer } from "./server.ts";

/** The version the tests' boards run. */
export const OLD = "1.0.0";
/** The version of the one release in the firmware folder. */
export const NEW = "1.0.1";
/** The one release in the firmware folder (`NAME/NEW`). */
export const RELEASE = `${NAME}/${NEW}`;
/** The release's code. */
export const CODE = fakeFirmware(1300, 7);

/** Runs `fn` on a real server (admin token `ADMIN`, `extra` options) over a firmware folder holding `RELEASE`, then removes it. */
export async function withUpdates(
  extra: Parameters<typeof withServer>[0],
  fn: Parameters<typeof withServer>[1],
): Promise<void> {
  const dir = await releaseDir({ [NEW]: CODE });
  try {
    await withServer({ httpPort: 0, adminToken: ADMIN, firmwareDir: dir, ...extra }, fn);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
