/**
 * A canary's cohort and figures: who gets the candidate (a share of the
 * cohort hash, `fleet/cohort.ts`, or a list of device ids), so one board gets
 * one version for the canary's whole life, and each side's `VersionFigures`
 * judged by the canary rules after every request.
 *
 * @example
 * ```ts
 * import { newCanary } from "./canary.ts";
 *
 * const canary = newCanary({ servingVersion: 1, version: 2 }, { devices: ["board-7"] }, 0.6);
 * console.log(canary.includes("board-7"), canary.includes("board-8")); // true false
 * ```
 * @module
 */
import type { RequestEvent } from "../core/request.ts";
import { inCohort } from "../fleet/cohort.ts";
import { VersionFigures } from "./figures.ts";
import type { Canary, ModelRollout, RolloutRules } from "./rollout.ts";
import { canaryRule, type Tripped } from "./rules.ts";

/** Who a canary sends to the candidate. */
export type CanaryCohort = { share: number } | { devices: string[] };

/** A canary of candidate `version` beside `servingVersion`, its figures empty. */
export function newCanary(
  { servingVersion, version }: Pick<ModelRollout, "servingVersion" | "version">,
  cohort: CanaryCohort,
  lowConfidence: number,
): Canary {
  const devices = "devices" in cohort ? new Set(cohort.devices) : null;
  const share = "share" in cohort ? cohort.share : null;
  return {
    share,
    devices,
    started: Date.now(),
    includes: devices ? (id) => devices.has(id) : cohortMember(share!),
    serving: new VersionFigures(servingVersion, lowConfidence),
    candidate: new VersionFigures(version, lowConfidence),
  };
}

/**
 * Adds a served request of the rollout's model to its canary side (the
 * version that answered, or for a failure the side its device belongs to);
 * returns the canary rule that trips, if one does.
 */
export function observeCanary(
  rollout: ModelRollout,
  canary: Canary,
  event: RequestEvent,
  rules: RolloutRules,
  servingNow: (model: string) => number | null,
): Tripped | null {
  const version = event.results?.[0].modelVersion ??
    (canary.includes(event.deviceId) ? rollout.version : null);
  if (version !== null && version !== rollout.version && version !== canary.serving.version) {
    // An answer of the version a swap replaced, admitted before it: counted on neither side.
    if (version !== servingNow(rollout.model)) return null;
    // The serving version swapped (a new version copied in, a rollback) while the canary runs:
    // its side starts again under the version that answers now, so no figure mixes two versions.
    canary.serving = canary.serving.fresh(version);
    rollout.servingVersion = version;
  }
  const side = version === rollout.version ? canary.candidate : canary.serving;
  side.add(event.status, event.code, event.totalMs, event.results);
  return canaryRule(canary, rules);
}

/** Membership of a share's cohort, remembered per device id (a SHA-256 per request is not free). */
function cohortMember(share: number): (deviceId: string) => boolean {
  const known = new Map<string, boolean>();
  return (id) => {
    let member = known.get(id);
    if (member === undefined) {
      // Bounded: a fleet larger than this is hashed again, never kept without limit.
      if (known.size >= 100_000) known.clear();
      member = inCohort(id, share);
      known.set(id, member);
    }
    return member;
  };
}
