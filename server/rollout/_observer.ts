/**
 * What every request's outcome does to the rollouts of its model: a
 * canary's figures per side, a sample of a shadow's digits for the
 * candidate, each comparison counted and told (`onShadow`), and the rules
 * judged once a rule's minimum of digits is reached; one that trips ends the
 * rollout at once (`Rollouts` ends it, as a rollback).
 *
 * @example
 * ```ts
 * import { RolloutObserver } from "./_observer.ts";
 * import { RolloutCounts } from "./counts.ts";
 * import type { RolloutOptions } from "./rollout.ts";
 * import type { RequestEvent } from "../core/request.ts";
 *
 * const counts = new RolloutCounts();
 * // Rollouts passes its options, its map of rollouts, its counts and how it ends a rollout.
 * const observer = new RolloutObserver({} as RolloutOptions, new Map(), counts, () => Promise.resolve());
 * observer.observe({ modelName: "mnist" } as RequestEvent); // no rollout runs: nothing to do
 * console.log(counts.shadowTotals.size); // 0
 * ```
 * @module
 */
import { WireError } from "../../shared/errors.ts";
import type { RequestEvent } from "../core/request.ts";
import type { ShadowFigures } from "./figures.ts";
import type { ShadowEvent } from "./shadow_event.ts";
import type { ModelRollout, RolloutOptions } from "./rollout.ts";
import { shadowRule, type Tripped } from "./rules.ts";
import { type ComparisonSink, offerShadow } from "./shadow.ts";
import { observeCanary } from "./canary.ts";
import type { RolloutCounts } from "./counts.ts";

/** Observes the requests of the rollouts `Rollouts` runs; see the module doc. */
export class RolloutObserver implements ComparisonSink {
  #options: RolloutOptions;
  #rollouts: ReadonlyMap<string, ModelRollout>;
  #counts: RolloutCounts;
  #end: (rollout: ModelRollout, reason: string) => Promise<void>;

  constructor(
    options: RolloutOptions,
    rollouts: ReadonlyMap<string, ModelRollout>,
    counts: RolloutCounts,
    end: (rollout: ModelRollout, reason: string) => Promise<void>,
  ) {
    this.#options = options;
    this.#rollouts = rollouts;
    this.#counts = counts;
    this.#end = end;
  }

  /** The version of model `name` that serves now, or null (one function, made once). */
  readonly #servingNow = (name: string): number | null => {
    const queue = this.#options.serving.route(name);
    return queue instanceof WireError ? null : queue.engineSet.version;
  };

  /** Every request's outcome: canary figures, shadow samples, rules. */
  observe(event: RequestEvent): void {
    if (this.#rollouts.size === 0) return;
    for (const rollout of this.#rollouts.values()) rollout.candidate.queue.poke();
    const rollout = this.#rollouts.get(event.modelName);
    if (!rollout || event.command < 0) return;
    const canary = rollout.canary;
    if (canary && event.digits > 0) {
      const tripped = observeCanary(rollout, canary, event, this.#options.rules, this.#servingNow);
      if (tripped) this.#tripped(rollout, tripped);
    }
    const shadow = rollout.shadow;
    if (shadow && event.results) {
      const dropped = offerShadow(this, rollout, shadow, event);
      if (dropped) this.#counts.shadow(rollout.model, rollout.version).dropped += dropped;
    }
  }

  /** A candidate's shadow answer (from `shadowed`): compared, counted, told, judged. */
  compared(rollout: ModelRollout, shadow: ShadowFigures, event: ShadowEvent): void {
    shadow.compare(event);
    this.#counts.shadow(rollout.model, rollout.version).compared++;
    try {
      this.#options.onShadow?.(event);
    } catch (e) {
      this.#options.log.error("shadow observer failed", { error: (e as Error).message });
    }
    const tripped = rollout.shadow === shadow ? shadowRule(shadow, this.#options.rules) : null;
    if (tripped) this.#tripped(rollout, tripped);
  }

  /** A rule tripped: logged, counted, and the rollout ended (once). */
  #tripped(rollout: ModelRollout, { rule, value, limit }: Tripped): void {
    if (rollout.ending) return;
    this.#options.log.warn("rollout rolled back by a rule", {
      model: rollout.model,
      candidate: rollout.version,
      rule,
      value: value.toFixed(4),
      limit: limit.toFixed(4),
    });
    void this.#end(rollout, rule);
  }
}
