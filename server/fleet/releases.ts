/**
 * The board code releases the server holds (`--firmware-dir DIR`): one folder
 * per release, `DIR/NAME/VERSION/`, with the bundle `firmware.js` and the
 * `release.json` that `deno task build --release DIR` writes beside it
 * (`{"name","version","size","crc32","sha256"}`). NAME is the firmware's name
 * as a board sends it in `client` (`mnist-device`), VERSION the rest of it.
 *
 * A release whose file does not match its `release.json` (size, CRC-32 or
 * SHA-256), or whose `release.json` names another folder, is refused with a
 * log line and never served; the last good set stays until a rescan.
 * `writeRelease` lays a bundle out so (the build's `--release`, and tests).
 *
 * @example
 * ```ts
 * import { ReleaseStore, writeRelease } from "./releases.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const store = new ReleaseStore(dir);
 * await store.rescan();
 * console.log(store.list(), store.get("mnist-device/1.0.0")); // [] null
 * await writeRelease(dir, "mnist-device 1.0.0", 'print("hello")'); // as `deno task build --release` does
 * await store.rescan();
 * console.log(store.get("mnist-device/1.0.0")?.size); // 14
 * ```
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import { crc32 } from "../../shared/crc32.ts";
import { shown } from "../../shared/errors.ts";
import { MAX_RELEASE_ID } from "../../shared/update_codec.ts";
import type { Logger } from "../log.ts";

/** What `release.json` says about a release. */
export interface ReleaseManifest {
  name: string;
  version: string;
  size: number;
  crc32: number;
  /** Lower-case hex. */
  sha256: string;
}

/** A release the server serves: its manifest, the bytes, and the SHA-1 its MACs sign. */
export interface Release extends ReleaseManifest {
  /** "NAME/VERSION", as offers and chunks name it. */
  id: string;
  bytes: Uint8Array;
  /** The raw SHA-1 of the file: what a MAC is computed over. */
  sha1: Uint8Array;
}

/** A release folder that was refused, and why. */
export interface RefusedRelease {
  path: string;
  error: string;
}

export const FIRMWARE_FILE = "firmware.js";
/**
 * The largest `firmware.js` a release may be: a board's code is a few KiB
 * (an ESP8266 build keeps to 6,144 bytes). Checked before the file is read,
 * so a stray large file is neither held nor hashed on every rescan.
 */
export const MAX_RELEASE_BYTES = 1024 * 1024;
export const MANIFEST_FILE = "release.json";

/** HMAC-SHA1 keyed by the device's token (ASCII) over the release's raw SHA-1: the offer's `mac`. */
export function releaseMac(release: Release, token: string): Uint8Array {
  return new Uint8Array(createHmac("sha1", token).update(release.sha1).digest());
}

/** The manifest of a bundle: what `deno task build --release` writes. */
export function manifestOf(name: string, version: string, bytes: Uint8Array): ReleaseManifest {
  return {
    name,
    version,
    size: bytes.length,
    crc32: crc32(bytes),
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

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

/** Releases by id, loaded from a folder; `rescan()` reads it again. */
export class ReleaseStore {
  readonly root: string | null;
  #releases = new Map<string, Release>();
  #refused: RefusedRelease[] = [];
  #log: Logger | undefined;

  /** `root` null: a store that holds no release (no `--firmware-dir`). */
  constructor(root: string | null, log?: Logger) {
    this.root = root;
    this.#log = log;
  }

  /** The release "NAME/VERSION", or null. */
  get(id: string): Release | null {
    return this.#releases.get(id) ?? null;
  }

  /** Every release, by name then version. */
  list(): Release[] {
    return [...this.#releases.values()].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }

  /** The folders refused at the last rescan. */
  get refused(): RefusedRelease[] {
    return this.#refused;
  }

  /** Reads the folder again: new releases appear, removed ones go, bad ones are refused. */
  async rescan(): Promise<void> {
    if (this.root === null) return;
    const found = new Map<string, Release>();
    const refused: RefusedRelease[] = [];
    for (const name of await subfolders(this.root)) {
      for (const version of await subfolders(`${this.root}/${name}`)) {
        const path = `${this.root}/${name}/${version}`;
        const release = await loadRelease(path, name, version);
        if (typeof release === "string") {
          refused.push({ path, error: release });
          // Logged once per folder and reason, not on every rescan.
          if (!this.#refused.some((r) => r.path === path && r.error === release)) {
            this.#log?.error("release refused", { path, error: release });
          }
        } else {
          if (!this.#releases.has(release.id)) {
            this.#log?.info("release loaded", { release: release.id, size: release.size });
          }
          found.set(release.id, release);
        }
      }
    }
    this.#releases = found;
    this.#refused = refused;
  }
}

/** The names of the folders in `dir` ([] when it is missing). */
async function subfolders(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory && !entry.name.startsWith(".")) names.push(entry.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names;
}

/** One release folder, checked against its manifest; a sentence when it cannot be served. */
async function loadRelease(path: string, name: string, version: string): Promise<Release | string> {
  const id = `${name}/${version}`;
  // Counted in bytes as a board holds them: printable ASCII, one byte a character.
  if (!/^[\x21-\x7e]+$/.test(id)) {
    return `its id ${shown(id)} is not printable ASCII without spaces, as a board's update ` +
      `request holds it`;
  }
  if (id.length > MAX_RELEASE_ID) {
    return `its id ${shown(id)} is ${id.length} characters; a board's update request ` +
      `holds at most ${MAX_RELEASE_ID}`;
  }
  let manifest: ReleaseManifest;
  let bytes: Uint8Array;
  try {
    manifest = JSON.parse(await Deno.readTextFile(`${path}/${MANIFEST_FILE}`));
    const { size } = await Deno.stat(`${path}/${FIRMWARE_FILE}`);
    if (size > MAX_RELEASE_BYTES) {
      return `${FIRMWARE_FILE} is ${size} bytes, more than a release may be (${MAX_RELEASE_BYTES})`;
    }
    bytes = await Deno.readFile(`${path}/${FIRMWARE_FILE}`);
  } catch (e) {
    return `cannot read ${MANIFEST_FILE} and ${FIRMWARE_FILE}: ${(e as Error).message}`;
  }
  if (manifest?.name !== name || manifest.version !== version) {
    return `${MANIFEST_FILE} names ${JSON.stringify(`${manifest?.name}/${manifest?.version}`)}, ` +
      `not its folder ${JSON.stringify(`${name}/${version}`)}`;
  }
  const actual = manifestOf(name, version, bytes);
  for (const key of ["size", "crc32", "sha256"] as const) {
    if (manifest[key] !== actual[key]) {
      return `${FIRMWARE_FILE} does not match ${MANIFEST_FILE}: ${key} is ${actual[key]}, ` +
        `the manifest says ${manifest[key]}`;
    }
  }
  const sha1 = new Uint8Array(createHash("sha1").update(bytes).digest());
  return { ...actual, id, bytes, sha1 };
}

/** A `client` string's name and version: "mnist-device 1.0.0+ab" or "NAME/VERSION". */
export function splitFirmware(firmware: string): { name: string; version: string } {
  const cut = Math.max(firmware.lastIndexOf(" "), firmware.lastIndexOf("/"));
  return { name: firmware.slice(0, cut), version: firmware.slice(cut + 1) };
}
