/**
 * Rollouts of model versions: a candidate version (a version folder the
 * "latest" policy does not serve, usually `"stage": "candidate"`) runs in
 * shadow on a sample of live digits, then as a canary for a cohort of
 * devices, then is promoted, or rolled back by the API or by a rule.
 *
 * - Shadow: after the serving version answered a digit, the candidate runs it
 *   in its queue's idle lane (`InferenceQueue.submitIdle`): only on an idle
 *   engine while no client's digit waits, dropped first under load, never
 *   answering anyone. Each comparison updates `ShadowFigures` and is told to
 *   `onShadow`.
 * - Canary: a request that pins no version goes to the candidate when its
 *   device id is in the cohort (`fleet/cohort.ts`) or the list, so one board
 *   gets one version for the canary's whole life; `VersionFigures` per side.
 * - Promote and rollback write the stage into `model.json` (`stage.ts`) and
 *   rescan, so what serves survives a restart; shadow and canary live in
 *   memory only and end with the process.
 *
 * Rules (`RolloutRules`) are judged after each comparison or request once the
 * rule's minimum of digits is reached; one that trips rolls back at once.
 *
 * The parts: `candidate.ts` starts a candidate, `_observer.ts` hears every
 * request's outcome, `shadow.ts` samples for it, `canary.ts` picks its
 * devices, `promote.ts` changes what serves, `counts.ts` keeps the totals
 * `metrics.ts` reads.
 *
 * @example
 * ```ts
 * import { startServer } from "../server.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0 });
 * console.log(server.rollouts.route("mnist") === server.queue); // true: no canary
 * await server.shutdown();
 * ```
 * @module
 */
import { shown, WireError } from "../../shared/errors.ts";
import type { RequestEvent } from "../core/request.ts";
import type { InferenceQueue } from "../engine/queue.ts";
import type { ModelServing, ServedModel } from "../models/serving.ts";
import { ShadowFigures } from "./figures.ts";
import {
  type ModelRollout,
  RolloutError,
  type RolloutOptions,
  rolloutSnapshot,
} from "./rollout.ts";
import { promote, retireServing, type VersionChanges } from "./promote.ts";
import { type CanaryCohort, newCanary } from "./canary.ts";
import { startCandidate } from "./candidate.ts";
import { RolloutCounts } from "./counts.ts";
import { RolloutObserver } from "./_observer.ts";

/** The rollouts of every model; see the module doc. */
export class Rollouts {
  #options: RolloutOptions;
  #serving: ModelServing;
  #rollouts = new Map<string, ModelRollout>();
  #canaries = 0;
  /** Cumulative counts for metrics, never reset. */
  readonly counts = new RolloutCounts();
  /** Canary figures, shadow samples and rules, per request (`_observer.ts`). */
  #observer: RolloutObserver;

  constructor(options: RolloutOptions) {
    this.#options = options;
    this.#serving = options.serving;
    this.#observer = new RolloutObserver(
      options,
      this.#rollouts,
      this.counts,
      (rollout, reason) => this.#end(rollout, reason),
    );
  }

  /** The model repository's folder (answers leave it out of their sentences). */
  get repositoryRoot(): string {
    return this.#serving.repository.root;
  }

  /** Whether routing needs a request's device id now (a canary runs). */
  get byDevice(): boolean {
    return this.#canaries > 0;
  }

  /** Every rollout under way. */
  get active(): readonly ModelRollout[] {
    return [...this.#rollouts.values()];
  }

  /**
   * The queue that answers a request for model `name` ("" the default): a
   * pinned `version` that is the candidate's goes to it; a device in a
   * canary's cohort goes to the candidate; everything else to the serving
   * version (or `MODEL_UNAVAILABLE`).
   */
  route(name: string, version?: number, deviceId?: string): InferenceQueue | WireError {
    const served = this.#serving.route(name);
    if (this.#rollouts.size === 0 || served instanceof WireError) return served;
    const rollout = this.#rollouts.get(served.model);
    if (!rollout) return served;
    if (version) return version === rollout.version ? rollout.candidate.queue : served;
    const canary = rollout.canary;
    if (canary && deviceId !== undefined && canary.includes(deviceId)) {
      return rollout.candidate.queue;
    }
    return served;
  }

  /** The candidate of model `name` when it is `version` and loaded (a versioned route may name it). */
  candidate(name: string, version: number): ServedModel | null {
    const rollout = this.#rollouts.get(name);
    return rollout?.version === version ? rollout.candidate : null;
  }

  /** Every request's outcome: canary figures, shadow samples, rules (`_observer.ts`). */
  observe(event: RequestEvent): void {
    this.#observer.observe(event);
  }

  /** Starts (or changes the sample of) a shadow of `version` of model `name`. */
  async startShadow(name: string, version: number, sample?: number): Promise<ModelRollout> {
    const rollout = await this.#withCandidate(name, version);
    const { lowConfidence, shadowSample } = this.#options;
    rollout.shadow = new ShadowFigures(version, sample ?? shadowSample, lowConfidence);
    this.#options.log.info("shadow started", { model: name, candidate: version });
    return rollout;
  }

  /** Starts a canary of `version` for a share of the cohort hash or a list of device ids. */
  async startCanary(
    name: string,
    version: number,
    cohort: CanaryCohort,
  ): Promise<ModelRollout> {
    const rollout = await this.#withCandidate(name, version);
    if (!rollout.canary) this.#canaries++;
    const canary = rollout.canary = newCanary(rollout, cohort, this.#options.lowConfidence);
    this.#options.log.info("canary started", {
      model: name,
      candidate: version,
      share: canary.share ?? undefined,
      devices: canary.devices?.size,
    });
    return rollout;
  }

  /** Stops the shadow of model `name` (the canary, if any, goes on). */
  async stopShadow(name: string): Promise<void> {
    const rollout = this.#existing(name, "shadow");
    rollout.shadow = null;
    if (!rollout.canary) await this.#end(rollout, null);
  }

  /** Ends the canary of model `name`: every device gets the serving version again. */
  async endCanary(name: string): Promise<void> {
    const rollout = this.#existing(name, "canary");
    rollout.canary = null;
    this.#canaries--;
    if (!rollout.shadow) await this.#end(rollout, null);
  }

  /**
   * Ends the rollout of model `name`, if any, once the model no longer
   * serves (`ModelServing.onUnserved`): its candidate's engines close.
   */
  async unserved(name: string): Promise<void> {
    const rollout = this.#rollouts.get(name);
    if (!rollout || !this.#detach(rollout)) return;
    this.#options.log.warn("rollout ended: its model no longer serves", {
      model: name,
      version: rollout.version,
    });
    await rollout.candidate.queue.close();
  }

  /** The rollout of model `name` with `what` running, or a 404 `RolloutError`. */
  #existing(name: string, what: "shadow" | "canary"): ModelRollout {
    const rollout = this.#rollouts.get(name);
    if (!rollout?.[what]) {
      throw new RolloutError(
        404,
        "MODEL_UNAVAILABLE",
        `model ${shown(name)} has no ${what} running`,
      );
    }
    return rollout;
  }

  /** The rollout of model `name`, if one runs. */
  get(name: string): ModelRollout | undefined {
    return this.#rollouts.get(name);
  }

  /**
   * The rollout of `version` of model `name`, its candidate started when new.
   * One candidate per model at a time: another version's rollout is a 409.
   */
  async #withCandidate(name: string, version: number): Promise<ModelRollout> {
    const existing = this.#rollouts.get(name);
    if (existing && existing.version === version && !existing.ending) return existing;
    if (existing) {
      throw new RolloutError(
        409,
        "BAD_UPDATE",
        `model ${shown(name)} has a rollout of version ${existing.version} running; end it first`,
      );
    }
    return await this.#exclusive(name, async () => {
      const { rescan, maxIdle } = this.#options;
      const rollout = await startCandidate(this.#serving, rescan, { name, version, maxIdle });
      this.#rollouts.set(name, rollout);
      return rollout;
    });
  }

  /**
   * Runs `change` unless another change of the model is under way, here or
   * over the repository routes (503 `SERVER_BUSY`).
   */
  async #exclusive<T>(name: string, change: () => Promise<T>): Promise<T> {
    const started = this.#serving.changes.start(name, change);
    if (started instanceof WireError) throw new RolloutError(503, "SERVER_BUSY", started.message);
    return await started;
  }

  /**
   * Ends a rollout: nobody is routed to the candidate any more; what it was
   * running is answered, then its engines close. `reason` (a rule, "api")
   * counts as a rollback; null is a plain stop.
   */
  async #end(rollout: ModelRollout, reason: string | null): Promise<void> {
    if (!this.#detach(rollout)) return;
    if (reason) this.counts.rolledBack(rollout.model, reason);
    await rollout.candidate.queue.close();
  }

  /** Routes nobody to the rollout's candidate any more; false when it was already ending. */
  #detach(rollout: ModelRollout): boolean {
    if (rollout.ending) return false;
    rollout.ending = true;
    if (rollout.canary) this.#canaries--;
    this.#rollouts.delete(rollout.model);
    return true;
  }

  /**
   * Makes `version` the served version for everyone (`promote.ts`): its
   * stage goes, a live swap follows, and a rollout of the model ends.
   */
  promote(name: string, version: number): Promise<{ from: number | null; to: number }> {
    return this.#exclusive(name, () => promote(this.#changes, name, version));
  }

  /**
   * Rolls back (`promote.ts`): a running shadow or canary ends; with none,
   * the serving version is retired and the one below it serves again.
   */
  rollback(
    name: string,
  ): Promise<{ ended: number | null; from: number | null; to: number | null }> {
    const rollout = this.#rollouts.get(name);
    if (rollout) {
      return this.#end(rollout, "api").then(() => {
        this.#options.log.warn("rollout rolled back", { model: name, candidate: rollout.version });
        const serving = this.#serving.versions().get(name) ?? null;
        return { ended: rollout.version, from: serving, to: serving };
      });
    }
    return this.#exclusive(name, () => retireServing(this.#changes, name));
  }

  /** What promote and retire may do here. */
  readonly #changes: VersionChanges = {
    serving: () => this.#serving,
    options: () => this.#options,
    rollout: (name) => this.#rollouts.get(name),
    detach: (rollout) => this.#detach(rollout),
    end: (rollout) => this.#end(rollout, null),
    promoted: (name) => this.counts.promoted(name),
    rolledBack: (name) => this.counts.rolledBack(name, "api"),
  };

  /** Every rollout's figures, for the dashboard. */
  snapshot(): unknown[] {
    return this.active.map(rolloutSnapshot);
  }

  /** Ends every rollout (the server stops). */
  async close(): Promise<void> {
    await Promise.all([...this.#rollouts.values()].map((r) => this.#end(r, null)));
  }
}
