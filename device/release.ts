/**
 * Writes a built firmware as a release the server can offer over the air
 * (`deno task build --release DIR`): `DIR/NAME/VERSION/firmware.js` and
 * `release.json` (`{"name","version","size","crc32","sha256"}`), where NAME
 * and VERSION are the `client` string the firmware sends (`mnist-device
 * 1.0.0+1a2b3c4d`), so the server knows which boards run an older one. Point
 * the server's `--firmware-dir` at DIR.
 *
 * @example
 * ```ts
 * import { writeRelease } from "./release.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const path = await writeRelease(dir, "mnist-device 1.0.0+1a2b3c4d", 'print("hello")');
 * console.log(path); // <dir>/mnist-device/1.0.0+1a2b3c4d
 * ```
 * @module
 */
import { FIRMWARE_FILE, MANIFEST_FILE, manifestOf } from "../server/fleet/releases.ts";

/**
 * Writes `code` as a release under `dir`; `client` is the string the firmware
 * sends (`NAME VERSION`). Returns the release's folder.
 */
export async function writeRelease(dir: string, client: string, code: string): Promise<string> {
  const space = client.indexOf(" ");
  const name = client.slice(0, space);
  const version = client.slice(space + 1);
  const folder = `${dir.replace(/\/+$/, "")}/${name}/${version}`;
  const bytes = new TextEncoder().encode(code);
  await Deno.mkdir(folder, { recursive: true });
  // The file first: a server that rescans in between finds no manifest and waits.
  await Deno.writeFile(`${folder}/${FIRMWARE_FILE}`, bytes);
  const manifest = JSON.stringify(manifestOf(name, version, bytes), null, 2) + "\n";
  await Deno.writeTextFile(`${folder}/${MANIFEST_FILE}.tmp`, manifest);
  await Deno.rename(`${folder}/${MANIFEST_FILE}.tmp`, `${folder}/${MANIFEST_FILE}`);
  return folder;
}
