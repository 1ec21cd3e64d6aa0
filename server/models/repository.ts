/**
 * The model repository: a folder laid out as Triton and TF Serving lay theirs,
 * `<root>/<model>/<version>/model.onnx` with its metadata `model.json` beside
 * it. `scan()` checks every version it finds and says, per version, whether it
 * can serve (`READY`) or why not (`UNAVAILABLE` and a reason); under the
 * version policy "latest" each model serves its highest `READY` version that
 * is not a candidate (`"stage": "candidate"` in its `model.json`: checked,
 * listed, and served only when a shadow, canary or promote names it).
 *
 * A version is checked once per state of its folder (the names, sizes and
 * mtimes of what is in it): a refused version is tried again as soon as
 * anything in its folder changes, so a folder still being copied in is
 * refused, then taken once it is complete. Checks: a model file is there, not
 * empty, is ONNX, matches the sha256 of its metadata (required unless
 * `allowChecksumMismatch`), and loads with 784 inputs and 10 outputs per
 * sample (`probe`, by default a real engine worker). The folders themselves
 * are read by `version_folders.ts`.
 *
 * @example
 * ```ts
 * import { DEFAULT_REPOSITORY, ModelRepository } from "./repository.ts";
 *
 * const repository = ModelRepository.open(DEFAULT_REPOSITORY);
 * for (const model of await repository.scan()) {
 *   console.log(model.name, model.latest?.version, model.versions.map((v) => v.state));
 * }
 * const serving = repository.find("mnist")?.latest;
 * if (serving) console.log((await repository.read(serving)).sha256);
 * ```
 * @module
 */
import { serverDefaults } from "../config.ts";
import type { Logger } from "../log.ts";
import { loadModelFile, ModelError, type ModelFile } from "./model.ts";
import { engineProbe } from "./probe.ts";
import {
  type LoadFailure,
  type ModelStatus,
  type RefusalKind,
  servesByLatest,
  type VersionStatus,
} from "./version_status.ts";
import {
  inspectVersion,
  MODEL_FILE,
  repositoryLayout,
  signatureOf,
  singleFileLayout,
} from "./version_folders.ts";

/** The bundled repository, `models/` of this checkout (`--model-repository`'s default). */
export const DEFAULT_REPOSITORY = serverDefaults().modelRepository;

/** Options of `ModelRepository.open` and `.single`. */
export interface RepositoryOptions {
  /** Serve versions without metadata, without a sha256, or whose sha256 differs. */
  allowChecksumMismatch?: boolean;
  /**
   * Loads the model's bytes as the server would and throws, with the reason, when
   * they cannot serve (wrong shapes, failed warm-up). Default: `engineProbe`.
   */
  probe?: (bytes: Uint8Array) => Promise<void>;
  /** Called once for each refusal (again only after the version's folder changes). */
  onLoadFailure?: (failure: LoadFailure) => void;
  /** Refusals are logged at warn, naming the file and the reason. */
  log?: Logger;
}

interface Cached {
  signature: string;
  status: VersionStatus;
  /** Whether `probe` passed on it (it runs only on a version about to be chosen). */
  probed: boolean;
}

/** A repository of models and their versions; see the module doc. */
export class ModelRepository {
  /** The repository folder, or the one file of `single()`. */
  readonly root: string;
  readonly allowChecksumMismatch: boolean;
  #single: { name: string } | null;
  #probe: (bytes: Uint8Array) => Promise<void>;
  #onLoadFailure: (failure: LoadFailure) => void;
  #log: Logger | undefined;
  #cache = new Map<string, Cached>();
  #unloaded = new Set<string>();
  #models: ModelStatus[] = [];

  private constructor(root: string, single: { name: string } | null, options: RepositoryOptions) {
    this.root = root.replace(/\/+$/, "") || "/";
    this.#single = single;
    this.allowChecksumMismatch = options.allowChecksumMismatch ?? false;
    this.#probe = options.probe ?? engineProbe;
    this.#onLoadFailure = options.onLoadFailure ?? (() => {});
    this.#log = options.log;
  }

  /** A repository folder (`--model-repository DIR`). */
  static open(root: string, options: RepositoryOptions = {}): ModelRepository {
    return new ModelRepository(root, null, options);
  }

  /**
   * One model file served as model `name`, version 1 (`--model FILE`). Its
   * metadata stays optional, as it always was; a sha256 in it is checked.
   */
  static single(file: string, name: string, options: RepositoryOptions = {}): ModelRepository {
    return new ModelRepository(file, { name }, options);
  }

  /** The last scan's models, by name. */
  get models(): readonly ModelStatus[] {
    return this.#models;
  }

  /** The last scan's status of model `name`, if it has a folder. */
  find(name: string): ModelStatus | undefined {
    return this.#models.find((m) => m.name === name);
  }

  /**
   * Unloads (`false`) or loads again (`true`) model `name`, as Triton's
   * repository extension does; takes effect at the next `scan()`. Returns false
   * when no such model was found by the last scan.
   */
  setLoaded(name: string, loaded: boolean): boolean {
    if (!this.find(name)) return false;
    if (loaded) this.#unloaded.delete(name);
    else this.#unloaded.add(name);
    return true;
  }

  /**
   * Looks at the folder again; returns every model with its versions' states.
   * Not re-entrant: call it from one place (the watcher's `rescan`).
   */
  async scan(): Promise<ModelStatus[]> {
    const found = this.#single
      ? singleFileLayout(this.root, this.#single.name)
      : await repositoryLayout(this.root);
    const models: ModelStatus[] = [];
    const seen = new Set<string>();
    for (const [name, versions] of [...found].sort(([a], [b]) => a.localeCompare(b))) {
      const statuses: VersionStatus[] = [];
      let latest: VersionStatus | null = null;
      for (const { version, dir, files } of versions.sort((a, b) => b.version - a.version)) {
        const key = `${name}/${version}`;
        seen.add(key);
        const status = await this.#check(key, name, version, dir, files, latest === null);
        statuses.push(status);
        if (!latest && status.state === "READY" && servesByLatest(status.stage)) latest = status;
      }
      const unloaded = this.#unloaded.has(name);
      models.push({ name, versions: statuses, latest: unloaded ? null : latest, unloaded });
    }
    for (const key of this.#cache.keys()) if (!seen.has(key)) this.#cache.delete(key);
    this.#models = models;
    return models;
  }

  /**
   * Reads a `READY` version's bytes for loading. A file that changed since it
   * was checked (its sha256 differs) is refused, and the error says so.
   */
  async read(status: VersionStatus): Promise<ModelFile> {
    const verify = !this.allowChecksumMismatch;
    const file = await loadModelFile(status.path, {
      verifyChecksum: verify,
      requireChecksum: verify && !this.#single,
    });
    if (this.#single) file.name = this.#single.name;
    if (status.sha256 !== null && file.sha256 !== status.sha256) {
      const reason =
        `model ${status.path} changed after it was checked; the next scan checks it again`;
      this.#cache.delete(`${status.model}/${status.version}`);
      throw new ModelError(reason);
    }
    return file;
  }

  /**
   * Marks a version refused for a reason found outside the scan (e.g. the
   * swap's warm-up failed): it stays `UNAVAILABLE` until its folder changes.
   */
  refuse(model: string, version: number, kind: RefusalKind, reason: string): void {
    const cached = this.#cache.get(`${model}/${version}`);
    if (!cached) return;
    const refused: VersionStatus = { ...cached.status, state: "UNAVAILABLE", kind, reason };
    cached.status = refused;
    // The index shows it at once; the next scan picks the version below.
    const entry = this.find(model);
    if (entry) {
      entry.versions = entry.versions.map((v) => v.version === version ? refused : v);
      if (entry.latest?.version === version) entry.latest = null;
    }
    this.#report(refused);
  }

  async #check(
    key: string,
    name: string,
    version: number,
    dir: string,
    files: string[],
    candidate: boolean,
  ): Promise<VersionStatus> {
    const signature = await signatureOf(files);
    let cached = this.#cache.get(key);
    if (cached?.signature !== signature) {
      const path = this.#single ? this.root : `${dir}/${MODEL_FILE}`;
      const status = await inspectVersion(name, version, dir, path, {
        single: this.#single !== null,
        allowChecksumMismatch: this.allowChecksumMismatch,
      });
      cached = { signature, status, probed: false };
      this.#cache.set(key, cached);
      if (cached.status.state === "UNAVAILABLE") this.#report(cached.status);
    }
    // The probe starts a worker: only the version about to be chosen pays for it.
    if (
      candidate && !cached.probed && cached.status.state === "READY" &&
      servesByLatest(cached.status.stage)
    ) {
      let bytes: Uint8Array;
      try {
        bytes = (await this.read(cached.status)).bytes;
      } catch (e) {
        // Changed or gone since its check: not a refusal; the next scan looks again.
        this.#cache.delete(key);
        return {
          ...cached.status,
          state: "UNAVAILABLE",
          kind: "unreadable",
          reason: (e as Error).message,
        };
      }
      cached.probed = true;
      try {
        await this.#probe(bytes);
      } catch (e) {
        const message = (e as Error).message;
        const kind = /input is .* output/.test(message)
          ? "shape"
          : /create a session|failed to load|protobuf/i.test(message)
          ? "corrupt"
          : "warmup";
        cached.status = { ...cached.status, state: "UNAVAILABLE", kind, reason: message };
        this.#report(cached.status);
      }
    }
    return cached.status;
  }

  #report(status: VersionStatus): void {
    const failure: LoadFailure = {
      model: status.model,
      version: status.version,
      path: status.path,
      kind: status.kind ?? "corrupt",
      reason: status.reason,
    };
    this.#log?.warn("model version refused", {
      model: failure.model,
      version: failure.version,
      file: failure.path,
      kind: failure.kind,
      reason: failure.reason,
    });
    this.#onLoadFailure(failure);
  }
}
