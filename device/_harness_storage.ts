/**
 * `require("Storage")` on the harness's board: named files in flash (text
 * here), backed by a JSON file (`storageFile`) so that starting a board
 * again on the same file is a reboot, else kept in memory.
 *
 * @example
 * ```ts
 * import { configure } from "./_harness_board.ts";
 * import { storage } from "./_harness_storage.ts";
 *
 * configure({ speed: 1, wifi: "none", boot: "ram", memoryUsage: 0, serial: "" });
 * storage.write("log", "ab", 0, 4); // a 4-byte file: 2 bytes written, the rest unwritten flash
 * console.log(storage.read("log")?.charCodeAt(3)); // 255: erased flash
 * ```
 * @module
 */
import { binary } from "./_harness_binary.ts";
import { options, powerCut } from "./_harness_board.ts";

let memoryStorage: Record<string, string> = {};

export function storageFiles(): Record<string, string> {
  if (!options.storageFile) return memoryStorage;
  try {
    return JSON.parse(Deno.readTextFileSync(options.storageFile));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw e;
  }
}

export function keepStorage(files: Record<string, string>): void {
  if (options.storageFile) Deno.writeTextFileSync(options.storageFile, JSON.stringify(files));
  else memoryStorage = files;
}

/** Espruino's Storage: named files in flash (text here), kept across reboots. */
export const storage = {
  read(name: string, offset = 0, length?: number): string | undefined {
    const file = storageFiles()[name];
    return file === undefined ? file : file.substr(offset, length ?? file.length);
  },
  /** As Espruino's: offset 0 makes the file anew (0xFF where unwritten); later offsets fill it in. */
  write(name: string, data: unknown, offset = 0, size = 0): boolean {
    const text = typeof data === "string" ? data : binary(data as Uint8Array);
    const files = storageFiles();
    let file = files[name];
    if (!offset) file = "\xff".repeat(size || text.length);
    if (file === undefined) throw new Error("Unable to find or create file");
    if (offset + text.length > file.length) throw new Error("Too much data for file size");
    if (!/^\xff*$/.test(file.slice(offset, offset + text.length))) {
      throw new Error("File already written with different data");
    }
    const cut = offset > 0 && name === options.powerCut;
    const written = cut ? text.slice(0, text.length >> 1) : text;
    files[name] = file.slice(0, offset) + written + file.slice(offset + written.length);
    keepStorage(files);
    if (cut) powerCut();
    return true;
  },
  readJSON(name: string, noExceptions?: boolean): unknown {
    const text = storageFiles()[name];
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch (e) {
      if (noExceptions) return undefined;
      throw e;
    }
  },
  writeJSON(name: string, data: unknown): boolean {
    return storage.write(name, JSON.stringify(data));
  },
  erase(name: string): void {
    const files = storageFiles();
    delete files[name];
    keepStorage(files);
  },
  eraseAll(): void {
    keepStorage({});
  },
  list(): string[] {
    return Object.keys(storageFiles());
  },
};
