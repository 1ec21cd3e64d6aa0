/**
 * Device tokens (`--tokens FILE`): the file names each device and the sha256
 * of its token, one `NAME SHA256HEX` line per device (`#` comments and blank
 * lines allowed), so the file itself holds no usable secret. The set is
 * reloaded when the file changes; a bad reload keeps the previous set.
 *
 * A lookup hashes the presented token, finds candidates by the first 8 bytes
 * of the digest (not secret: only a preimage would exploit it) and compares
 * the whole digest in constant time, so response times say nothing about how
 * close a guess was.
 *
 * @example
 * ```ts
 * import { DeviceTokens, newToken, tokenLine } from "./tokens.ts";
 *
 * const token = newToken();
 * const file = await Deno.makeTempFile({ suffix: ".tokens" });
 * await Deno.writeTextFile(file, tokenLine("kitchen", token) + "\n");
 * const tokens = await DeviceTokens.open(file);
 * console.log(tokens.lookup(token), tokens.lookup(newToken())); // "kitchen" null
 * await tokens.close();
 * await Deno.remove(file);
 * ```
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { resolve } from "node:path";
import type { Logger } from "../log.ts";
import { DEVICE_NAME_RULE, isDeviceName } from "../../shared/device_name.ts";
import { sameToken } from "./bearer.ts";

const HEX = /^[0-9a-fA-F]{64}$/;

/** A token file that cannot be used; the message names the file and the line. */
export class TokenFileError extends Error {
  override name = "TokenFileError";
}

/** One device of the file. */
export interface DeviceEntry {
  name: string;
  digest: Uint8Array;
}

/** The sha256 of a token's UTF-8 bytes. */
export function tokenDigest(token: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(token).digest());
}

/** A new random token: 24 random bytes as 32 base64url characters. */
export function newToken(): string {
  return randomBytes(24).toString("base64url");
}

/** The token file line for a device: `NAME SHA256HEX`. */
export function tokenLine(name: string, token: string): string {
  return `${name} ${toHex(tokenDigest(token))}`;
}

/** Parses a token file's text; `file` names it in errors. */
export function parseTokenFile(text: string, file: string): DeviceEntry[] | TokenFileError {
  const entries: DeviceEntry[] = [];
  const names = new Set<string>();
  const digests = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/(^|\s)#.*$/, "").trim();
    if (line === "") continue;
    const where = `${file} line ${i + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) {
      return new TokenFileError(`${where}: expected "NAME SHA256HEX", got "${line}"`);
    }
    const [name, hex] = parts;
    if (!isDeviceName(name)) {
      return new TokenFileError(
        `${where}: device name "${name}" must be ${DEVICE_NAME_RULE}`,
      );
    }
    if (!HEX.test(hex)) {
      return new TokenFileError(
        `${where}: "${hex}" is not a sha256 digest (64 hex digits; \`deno task token ${name}\` makes one)`,
      );
    }
    if (names.has(name)) return new TokenFileError(`${where}: device "${name}" is listed twice`);
    const lower = hex.toLowerCase();
    const other = digests.get(lower);
    if (other !== undefined) {
      return new TokenFileError(`${where}: "${name}" has the same token as "${other}"`);
    }
    names.add(name);
    digests.set(lower, name);
    entries.push({ name, digest: fromHex(lower) });
  }
  return entries;
}

/** Options of `DeviceTokens.open`. */
export interface TokenOptions {
  log?: Logger;
  /** Quiet time after the last change before reloading, in ms (editors write in steps). */
  debounceMs?: number;
  /** Watch the file and reload on change (default true). */
  watch?: boolean;
}

/** The devices of a token file, kept current while the file changes. */
export class DeviceTokens {
  readonly path: string;
  #byPrefix = new Map<string, DeviceEntry[]>();
  #size = 0;
  #log?: Logger;
  #watcher: Deno.FsWatcher | null = null;
  #watching: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #reloads = 0;
  #generation = 0;
  #reloaded: (() => void)[] = [];

  private constructor(path: string, log?: Logger) {
    this.path = path;
    this.#log = log;
  }

  /** Reads the file (a `TokenFileError` if it is bad or unreadable) and watches it. */
  static async open(path: string, options: TokenOptions = {}): Promise<DeviceTokens> {
    const tokens = new DeviceTokens(resolve(path), options.log);
    const entries = await tokens.#read();
    if (entries instanceof TokenFileError) throw entries;
    tokens.#install(entries);
    if (options.watch ?? true) tokens.#watch(options.debounceMs ?? 250);
    return tokens;
  }

  /** Devices known now. */
  get size(): number {
    return this.#size;
  }

  /** Changes with every set of devices installed: what was verified against an older one is stale. */
  get generation(): number {
    return this.#generation;
  }

  /** Reloads done so far (good or bad): lets tests wait for one. */
  get reloads(): number {
    return this.#reloads;
  }

  /** The device whose token this is, or null (an empty token is never one). */
  lookup(token: string): string | null {
    if (token === "") return null;
    const digest = tokenDigest(token);
    const candidates = this.#byPrefix.get(prefixKey(digest));
    if (!candidates) return null;
    for (const entry of candidates) {
      if (sameToken(digest, entry.digest)) return entry.name;
    }
    return null;
  }

  /** Reads the file again; on a bad file keeps the devices it had, logs why, and returns the error. */
  async reload(): Promise<TokenFileError | null> {
    const entries = await this.#read();
    this.#reloads++;
    if (entries instanceof TokenFileError) {
      this.#log?.warn("token file not reloaded; keeping the previous devices", {
        error: entries.message,
        devices: this.#size,
      });
    } else {
      this.#install(entries);
      this.#log?.info("token file reloaded", { file: this.path, devices: this.#size });
    }
    for (const done of this.#reloaded.splice(0)) done();
    return entries instanceof TokenFileError ? entries : null;
  }

  /** Resolves after the next reload (tests). */
  nextReload(): Promise<void> {
    return new Promise((done) => this.#reloaded.push(done));
  }

  /** Stops watching the file. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#watcher?.close();
    this.#watcher = null;
    await this.#watching;
  }

  async #read(): Promise<DeviceEntry[] | TokenFileError> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (e) {
      return new TokenFileError(`cannot read token file ${this.path}: ${(e as Error).message}`);
    }
    return parseTokenFile(text, this.path);
  }

  #install(entries: DeviceEntry[]): void {
    const byPrefix = new Map<string, DeviceEntry[]>();
    for (const entry of entries) {
      const key = prefixKey(entry.digest);
      const list = byPrefix.get(key);
      if (list) list.push(entry);
      else byPrefix.set(key, [entry]);
    }
    this.#byPrefix = byPrefix;
    this.#size = entries.length;
    this.#generation++;
  }

  /**
   * Watches the file's folder rather than the file: editors and `mv` replace
   * the file, and a watch on the old one would go quiet.
   */
  #watch(debounceMs: number): void {
    const dir = resolve(this.path, "..");
    this.#watcher = Deno.watchFs(dir, { recursive: false });
    const watcher = this.#watcher;
    this.#watching = (async () => {
      try {
        for await (const event of watcher) {
          if (!event.paths.some((p) => resolve(p) === this.path)) continue;
          clearTimeout(this.#timer);
          this.#timer = setTimeout(() => {
            this.#timer = undefined;
            this.reload();
          }, debounceMs);
        }
      } catch (e) {
        if (this.#watcher) {
          this.#log?.warn("token file watch ended", { error: (e as Error).message });
        }
      }
    })();
  }
}

function prefixKey(digest: Uint8Array): string {
  return toHex(digest.subarray(0, 8));
}

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
