/**
 * The models being served, one `InferenceQueue` each, and the swap that
 * changes them live. After a repository scan, every model whose latest valid
 * version differs from the one serving gets a new engine set: read,
 * checksum-checked, shape-checked and warmed in fresh workers while the old
 * set serves; then the queue switches between two dispatches, runs already
 * started finish on the old set, and the old set is closed. A request is
 * answered by exactly one version and never failed by a swap. A version that
 * fails to load is refused (`ModelRepository.refuse`) and the one serving goes
 * on; removing the newest version folder rolls back the same way.
 *
 * @example
 * ```ts
 * import { ModelServing } from "./serving.ts";
 * import { DEFAULT_REPOSITORY, ModelRepository } from "./repository.ts";
 * import { startEngines } from "../engine/instances.ts";
 * import { InferenceQueue } from "../engine/queue.ts";
 * import { Logger } from "../log.ts";
 *
 * const serving = await ModelServing.start(ModelRepository.open(DEFAULT_REPOSITORY), {
 *   defaultModel: "mnist",
 *   instances: 1,
 *   engine: { threads: 1, maxBatch: 128 },
 *   queue: { maxBatch: 128, maxQueued: 1024 },
 *   log: new Logger("error"),
 *   startEngines,
 * });
 * const queue = serving.route(""); // the default model's queue, or a MODEL_UNAVAILABLE WireError
 * console.log(queue instanceof InferenceQueue, serving.default?.file.version); // true 1
 * console.log(serving.route("nothing-by-this-name").toString()); // MODEL_UNAVAILABLE: ...
 * await serving.rescan(); // after the repository changed: swaps in a new latest version, if any
 * await serving.close();
 * ```
 * @module
 */
import { shown, Status, WireError } from "../../shared/errors.ts";
import { ModelChanges } from "./model_changes.ts";
import type { EngineOptions, InferenceEngine } from "../engine/engine.ts";
import { InferenceQueue } from "../engine/queue.ts";
import { QueueBudget, type QueueOptions } from "../engine/queue_options.ts";
import type { Logger } from "../log.ts";
import type { ModelFile } from "./model.ts";
import type { ModelRepository } from "./repository.ts";
import { changesAfterScan, type RepositoryChange, type VersionStatus } from "./version_status.ts";

/** One model being served. */
export interface ServedModel {
  name: string;
  /** The version serving now, as read from the repository. */
  file: ModelFile;
  queue: InferenceQueue;
}

/** A swap or an unload, for logs and metrics. */
export interface SwapEvent {
  model: string;
  from: number | null;
  to: number | null;
}

/** How to serve: instances per model, and the engine and queue options every model shares. */
export interface ServingOptions {
  defaultModel: string;
  instances: number;
  engine: EngineOptions & { onWarmupRetry?: (attempt: number, reason: string) => void };
  queue: QueueOptions;
  log: Logger;
  /** Starts `count` warmed instances (`startEngines` of `engine/instances.ts`). */
  startEngines: (
    bytes: Uint8Array,
    count: number,
    options: EngineOptions,
  ) => Promise<InferenceEngine[]>;
  /** Called after each swap or unload. */
  onSwap?: (event: SwapEvent) => void;
}

/** Thrown at start when the default model has no version that can serve. */
export class NoDefaultModelError extends Error {
  override name = "NoDefaultModelError";
}

/** How many times one rescan goes back to the repository after a version failed to load. */
const MAX_RETRIES = 3;

/** The served models; see the module doc. */
export class ModelServing {
  readonly defaultModel: string;
  readonly repository: ModelRepository;
  /** One change of a model at a time (the repository routes', the rollouts'). */
  readonly changes = new ModelChanges();
  #options: ServingOptions;
  #models = new Map<string, ServedModel>();
  /** Started versions offered to the next swap to them (`offer`), by model. */
  #offered = new Map<string, ServedModel>();
  /**
   * Told each model that stops serving (unloaded, or no version can serve):
   * the rollouts end its rollout, so no candidate outlives its model.
   */
  onUnserved: ((model: string) => Promise<void>) | null = null;

  private constructor(repository: ModelRepository, options: ServingOptions) {
    this.repository = repository;
    // Every model's queue draws on one budget: --max-queued bounds them together.
    const budget = options.queue.budget ?? new QueueBudget(options.queue.maxQueued);
    this.#options = { ...options, queue: { ...options.queue, budget } };
    this.defaultModel = options.defaultModel;
  }

  /** Scans the repository and starts every model that has a valid version; the default must. */
  static async start(repository: ModelRepository, options: ServingOptions): Promise<ModelServing> {
    const serving = new ModelServing(repository, options);
    try {
      await serving.rescan();
    } catch (e) {
      await serving.close();
      throw e;
    }
    if (!serving.#models.has(options.defaultModel)) {
      const status = repository.find(options.defaultModel);
      const reasons = status?.versions.map((v) =>
        `version ${v.version}: ${
          v.reason || `stage ${JSON.stringify(v.stage)}, which "latest" skips`
        }`
      ).join("; ");
      await serving.close();
      throw new NoDefaultModelError(
        status
          ? `model ${options.defaultModel} has no version that can serve (${
            reasons || "no versions"
          })`
          : `the model repository ${repository.root} has no model ${options.defaultModel}; ` +
            `pass --default-model or --model FILE`,
      );
    }
    return serving;
  }

  /** The default model; present from start until it is removed from the repository. */
  get default(): ServedModel | undefined {
    return this.#models.get(this.defaultModel);
  }

  /** Every model served now. */
  get models(): ServedModel[] {
    return [...this.#models.values()];
  }

  /** The version each model serves now. */
  versions(): Map<string, number> {
    return new Map([...this.#models].map(([name, m]) => [name, m.queue.engineSet.version]));
  }

  /** The queue of model `name` ("" for the default), or `MODEL_UNAVAILABLE`. */
  route(name: string): InferenceQueue | WireError {
    const model = this.#models.get(name || this.defaultModel);
    if (model) return model.queue;
    return new WireError(
      Status.MODEL_UNAVAILABLE,
      `no version of model ${shown(name || this.defaultModel)} is being served`,
    );
  }

  /**
   * Scans the repository and applies what changed. Not re-entrant: the
   * repository watcher serializes calls.
   */
  async rescan(): Promise<void> {
    for (let attempt = 0; attempt <= MAX_RETRIES; attempt++) {
      const models = await this.repository.scan();
      const changes = changesAfterScan(models, this.versions());
      if (changes.length === 0) return;
      let failed = false;
      for (const change of changes) {
        if (!(await this.#apply(change))) failed = true;
      }
      // A refused version leaves the one below it as the latest: look again.
      if (!failed) return;
    }
  }

  /** Serves `change.to` of its model, or stops serving it; false when the version was refused. */
  async #apply(change: RepositoryChange): Promise<boolean> {
    const { log } = this.#options;
    const served = this.#models.get(change.model);
    if (!change.to) {
      if (!served) return true;
      this.#models.delete(change.model);
      await served.queue.close();
      log.info("model unloaded", { model: change.model, version: change.from ?? undefined });
      this.#options.onSwap?.({ model: change.model, from: change.from, to: null });
      await this.onUnserved?.(change.model);
      return true;
    }
    const to = change.to;
    let file: ModelFile;
    let engines: InferenceEngine[];
    try {
      ({ file, engines } = await this.#startOrRefuse(to));
    } catch {
      return false;
    }
    const set = { engines, version: to.version };
    if (served) {
      const old = await served.queue.swap(set);
      for (const engine of old.engines) engine.close();
      served.file = file;
    } else {
      this.#models.set(change.model, {
        name: change.model,
        file,
        queue: new InferenceQueue(set, { ...this.#options.queue, model: change.model }),
      });
    }
    log.info(served ? "model swapped" : "model loaded", {
      model: change.model,
      from: change.from ?? undefined,
      version: to.version,
      path: file.path,
      checksum: file.checksum,
    });
    this.#options.onSwap?.({ model: change.model, from: change.from, to: to.version });
    return true;
  }

  /**
   * Reads a version and starts its warmed instances, or takes those of a
   * started version offered for it (same version, same sha256).
   */
  async #start(status: VersionStatus): Promise<{ file: ModelFile; engines: InferenceEngine[] }> {
    const offered = this.#offered.get(status.model);
    if (offered?.file.version === status.version && offered.file.sha256 === status.sha256) {
      this.#offered.delete(status.model);
      return { file: offered.file, engines: offered.queue.engineSet.engines };
    }
    const file = await this.repository.read(status);
    file.version = status.version;
    const { startEngines, instances, engine } = this.#options;
    return { file, engines: await startEngines(file.bytes, instances, engine) };
  }

  /**
   * Starts a version that the "latest" policy does not serve (a candidate)
   * behind a queue of its own, which draws on the shared budget: read,
   * checksum-checked, started and warmed like a swap's version, but no
   * request reaches it unless the caller routes one there. The caller closes
   * its queue.
   */
  async startVersion(status: VersionStatus, maxIdle?: number): Promise<ServedModel> {
    const { file, engines } = await this.#startOrRefuse(status);
    const queue = new InferenceQueue(
      { engines, version: status.version },
      { ...this.#options.queue, model: status.model, maxIdle },
    );
    return { name: status.model, file, queue };
  }

  /**
   * `#start`, and a version that cannot start is marked refused with why (its
   * shapes, its warm-up): the index says so, and no scan or rollback tries it
   * again until its folder changes.
   */
  async #startOrRefuse(
    status: VersionStatus,
  ): Promise<{ file: ModelFile; engines: InferenceEngine[] }> {
    try {
      return await this.#start(status);
    } catch (e) {
      const reason = (e as Error).message;
      const kind = /the model's input is|one input of 784/.test(reason) ? "shape" : "warmup";
      this.repository.refuse(status.model, status.version, kind, reason);
      throw e;
    }
  }

  /**
   * Offers a version `startVersion` started, its queue drained, to the next
   * swap to that version: its warmed engines serve instead of new ones (a
   * promoted candidate's, so a promote starts nothing under load).
   */
  offer(started: ServedModel): void {
    this.#offered.set(started.name, started);
  }

  /** Takes back an offer no swap used (the caller closes it); false when a swap took it. */
  withdraw(started: ServedModel): boolean {
    if (this.#offered.get(started.name) !== started) return false;
    this.#offered.delete(started.name);
    return true;
  }

  /** Answers what every queue holds, then closes every engine (the models stay listed). */
  async close(): Promise<void> {
    await Promise.all([...this.#models.values()].map((m) => m.queue.close()));
  }
}
