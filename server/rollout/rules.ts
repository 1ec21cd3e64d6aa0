/**
 * The automatic rollback rules, judged on a rollout's figures: a shadow whose
 * argmax agreement falls below `--shadow-min-agreement`; a canary whose
 * candidate fails more than `--canary-max-error-rate` of its requests, or
 * whose low-confidence rate exceeds `--canary-max-low-confidence-ratio`
 * times the serving version's (which counts as at least 1%: a clean fleet's
 * 0% is no yardstick). None judges before `--rollout-min-samples`.
 *
 * @example
 * ```ts
 * import { shadowRule } from "./rules.ts";
 * import { ShadowFigures } from "./figures.ts";
 *
 * const rules = { shadowMinAgreement: 0.99, canaryMaxErrorRate: 0.01, canaryMaxLowConfidenceRatio: 2, rolloutMinSamples: 200 };
 * console.log(shadowRule(new ShadowFigures(2, 0.1, 0.5), rules)); // null: nothing compared yet
 * ```
 * @module
 */
import type { ShadowFigures } from "./figures.ts";
import type { Canary, RolloutRules } from "./rollout.ts";

/** A rule that tripped: its name (the metric's `reason`), the figure and the limit it crossed. */
export interface Tripped {
  rule: "shadow_agreement" | "canary_error_rate" | "canary_low_confidence";
  value: number;
  limit: number;
}

/** The shadow's rule, if it tripped. */
export function shadowRule(shadow: ShadowFigures, rules: RolloutRules): Tripped | null {
  const limit = rules.shadowMinAgreement;
  if (limit <= 0 || shadow.compared < rules.rolloutMinSamples) return null;
  if (shadow.agreement >= limit) return null;
  return { rule: "shadow_agreement", value: shadow.agreement, limit };
}

/** The canary's first rule that tripped, if any. */
export function canaryRule(canary: Canary, rules: RolloutRules): Tripped | null {
  const { candidate, serving } = canary;
  const min = rules.rolloutMinSamples;
  const maxErrors = rules.canaryMaxErrorRate;
  if (maxErrors < 1 && candidate.requests >= min && candidate.errorRate > maxErrors) {
    return { rule: "canary_error_rate", value: candidate.errorRate, limit: maxErrors };
  }
  const ratio = rules.canaryMaxLowConfidenceRatio;
  if (ratio <= 0 || candidate.digits < min || serving.digits < min) return null;
  const limit = ratio * Math.max(serving.lowConfidenceRate, 0.01);
  if (candidate.lowConfidenceRate <= limit) return null;
  return { rule: "canary_low_confidence", value: candidate.lowConfidenceRate, limit };
}
