/**
 * The rollouts' cumulative counts, never reset, read by the metrics
 * (`metrics.ts`): rollbacks per model and reason, promotions per model, and
 * each shadow's compared and dropped digits per model and candidate.
 *
 * @example
 * ```ts
 * import { RolloutCounts } from "./counts.ts";
 *
 * const counts = new RolloutCounts();
 * counts.rolledBack("mnist", "api");
 * counts.shadow("mnist", 2).compared++;
 * console.log(counts.rollbacks.get("mnist")?.get("api"), counts.shadowTotals.get("mnist\n2")); // 1 { compared: 1, dropped: 0 }
 * ```
 * @module
 */

/** A shadow's digits: compared with the serving answer, or dropped under load. */
export interface ShadowTotal {
  compared: number;
  dropped: number;
}

/** Cumulative counts for metrics; see the module doc. */
export class RolloutCounts {
  /** Rollbacks per model, by reason (a rule's name, or `api`). */
  readonly rollbacks = new Map<string, Map<string, number>>();
  /** Promotions per model. */
  readonly promotions = new Map<string, number>();
  /** Shadow digits per `model\ncandidate`. */
  readonly shadowTotals = new Map<string, ShadowTotal>();

  /** Counts a rollback of model `model` for `reason`. */
  rolledBack(model: string, reason: string): void {
    let reasons = this.rollbacks.get(model);
    if (!reasons) this.rollbacks.set(model, reasons = new Map());
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }

  /** Counts a promotion of model `model`. */
  promoted(model: string): void {
    this.promotions.set(model, (this.promotions.get(model) ?? 0) + 1);
  }

  /** The shadow totals of candidate `version` of model `model`, made on first use. */
  shadow(model: string, version: number): ShadowTotal {
    const key = `${model}\n${version}`;
    let total = this.shadowTotals.get(key);
    if (!total) this.shadowTotals.set(key, total = { compared: 0, dropped: 0 });
    return total;
  }
}
