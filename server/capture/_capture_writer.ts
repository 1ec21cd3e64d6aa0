/**
 * Where `DigitCapture`'s lines go: appended to the current file of the
 * capture folder in one write, a new file started past `fileBytes`
 * (`capture-<process>-<n>.jsonl`), and the oldest closed files deleted
 * while the folder would hold more than `maxBytes`.
 *
 * @module
 */

/** A capture file: its path and its size in bytes. */
interface CaptureFile {
  path: string;
  size: number;
}

/** Appends lines to size-bounded files in a capture folder; see the module doc. */
export class CaptureWriter {
  #dir: string;
  #process: string;
  #maxBytes: number;
  #fileBytes: number;
  #fileNumber = 0;
  #file: { path: string; size: number; handle: Deno.FsFile } | null = null;
  /** Files in `dir`, oldest first, with their sizes. */
  #files: CaptureFile[];

  /** `files`: those already in `dir`, oldest first; `process` names this process's files. */
  constructor(
    options: { dir: string; process: string; maxBytes: number; fileBytes: number },
    files: CaptureFile[],
  ) {
    this.#dir = options.dir;
    this.#process = options.process;
    this.#maxBytes = options.maxBytes;
    this.#fileBytes = options.fileBytes;
    this.#files = files;
  }

  /** Bytes of captures in the folder, including the current file's. */
  get bytes(): number {
    return this.#files.reduce((sum, f) => sum + f.size, 0) + (this.#file?.size ?? 0);
  }

  /** Appends `bytes` (whole lines) in one write; throws what the disk throws. */
  async append(bytes: Uint8Array): Promise<void> {
    if (this.#file && this.#file.size + bytes.length > this.#fileBytes) {
      this.#file.handle.close();
      this.#files.push({ path: this.#file.path, size: this.#file.size });
      this.#file = null;
    }
    if (!this.#file) {
      const path = `${this.#dir}/capture-${this.#process}-${++this.#fileNumber}.jsonl`;
      const handle = await Deno.open(path, { create: true, append: true });
      this.#file = { path, size: 0, handle };
    }
    await this.#trim(bytes.length);
    let written = 0;
    while (written < bytes.length) {
      written += await this.#file.handle.write(bytes.subarray(written));
    }
    this.#file.size += bytes.length;
  }

  /** Closes the current file; the next append starts a new one. */
  close(): void {
    this.#file?.handle.close();
    if (this.#file) this.#files.push({ path: this.#file.path, size: this.#file.size });
    this.#file = null;
  }

  /** Deletes the oldest closed files until `incoming` more bytes fit under `maxBytes`. */
  async #trim(incoming: number): Promise<void> {
    while (this.#files.length && this.bytes + incoming > this.#maxBytes) {
      const oldest = this.#files.shift()!;
      await Deno.remove(oldest.path).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
  }
}
