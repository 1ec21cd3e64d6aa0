/**
 * The parts of a rollout (`rollouts.ts` runs them): what one model's rollout
 * holds, the rules and options, the error the HTTP routes turn into a reply,
 * and the repository look-ups that promote and rollback need.
 *
 * @example
 * ```ts
 * import { RolloutError } from "./rollout.ts";
 *
 * const error = new RolloutError(404, "MODEL_UNAVAILABLE", 'model "mnist" has no shadow running');
 * console.log(error.httpStatus, `${error.code}: ${error.message}`);
 * ```
 * @module
 */
import { shown, Status, WireError } from "../../shared/errors.ts";
import type { Logger } from "../log.ts";
import type { ModelRepository } from "../models/repository.ts";
import type { ModelServing, ServedModel } from "../models/serving.ts";
import { servesByLatest, type VersionStatus } from "../models/version_status.ts";
import type { ShadowFigures, VersionFigures } from "./figures.ts";
import type { ShadowEvent } from "./shadow_event.ts";

/** A canary: who gets the candidate, and each side's figures. */
export interface Canary {
  /** A share of the cohort hash (0..1), or null for a list. */
  share: number | null;
  devices: Set<string> | null;
  started: number;
  includes: (deviceId: string) => boolean;
  serving: VersionFigures;
  candidate: VersionFigures;
}

/** One model's rollout: its candidate, loaded, and what runs it. */
export interface ModelRollout {
  model: string;
  /** The candidate's version. */
  version: number;
  /** The version serving when the rollout started. */
  servingVersion: number;
  /** The candidate's model file. */
  path: string;
  candidate: ServedModel;
  shadow: ShadowFigures | null;
  canary: Canary | null;
  /** Set once it is ending: a rule trips once. */
  ending: boolean;
}

/** The automatic rules (flags of the same names); see docs/models.md. */
export interface RolloutRules {
  shadowMinAgreement: number;
  canaryMaxErrorRate: number;
  canaryMaxLowConfidenceRatio: number;
  rolloutMinSamples: number;
}

/** What `Rollouts` needs. */
export interface RolloutOptions {
  serving: ModelServing;
  /** Rescans the repository (the watcher's trigger); resolves once its swaps are done. */
  rescan: () => Promise<void>;
  log: Logger;
  rules: RolloutRules;
  /** `--shadow-sample`: a shadow's sample when its request gives none. */
  shadowSample: number;
  /** `--low-confidence`. */
  lowConfidence: number;
  /** Most digits a candidate's idle lane holds (beyond: dropped). */
  maxIdle: number;
  /** Told every shadow comparison (`ServerOptions.onShadow`). */
  onShadow?: (event: ShadowEvent) => void;
}

/** A rollout request that cannot be done: the HTTP status, the wire code, a sentence. */
export class RolloutError extends WireError {
  readonly httpStatus: number;
  constructor(httpStatus: number, code: keyof typeof Status, message: string) {
    super(Status[code], message);
    this.httpStatus = httpStatus;
  }
}

/**
 * Version `version` of model `name` as the last scan saw it, READY; else a
 * 404 (no such version, after one more scan) or a 400 (refused, with why).
 */
export async function readyVersion(
  repository: ModelRepository,
  rescan: () => Promise<void>,
  name: string,
  version: number,
): Promise<VersionStatus> {
  const find = () => repository.find(name)?.versions.find((v) => v.version === version);
  // Perhaps just copied in: look again before saying there is no such version.
  if (!find()) await rescan();
  const status = find();
  if (!status) {
    throw new RolloutError(
      404,
      "MODEL_UNAVAILABLE",
      `model ${shown(name)} has no version ${version} in the repository`,
    );
  }
  if (status.state !== "READY") {
    throw new RolloutError(
      400,
      "MODEL_UNAVAILABLE",
      `version ${version} of model ${shown(name)} cannot serve: ${status.reason}`,
    );
  }
  return status;
}

/** The newest version above `version` that "latest" would serve, or null. */
export function newerServable(
  repository: ModelRepository,
  name: string,
  version: number,
): number | null {
  const newer = repository.find(name)?.versions.find((v) =>
    v.version > version && v.state === "READY" && servesByLatest(v.stage)
  );
  return newer?.version ?? null;
}

/** The newest version below `version` that "latest" would serve, or null. */
export function servableBelow(
  repository: ModelRepository,
  name: string,
  version: number,
): number | null {
  const below = repository.find(name)?.versions.find((v) =>
    v.version < version && v.state === "READY" && servesByLatest(v.stage)
  );
  return below?.version ?? null;
}

/** The canary's figures: who gets the candidate, and each version's requests side by side. */
export function canaryJson(rollout: ModelRollout, listed = true) {
  const canary = rollout.canary!;
  return {
    model: rollout.model,
    version: rollout.version,
    share: canary.share,
    // The dashboard, polled every second, counts them: a list of 50,000 ids is 700 KB.
    ...(listed
      ? { devices: canary.devices ? [...canary.devices] : null }
      : { device_count: canary.devices ? canary.devices.size : null }),
    started: new Date(canary.started).toISOString(),
    versions: [canary.serving.json(), canary.candidate.json()],
  };
}

/** The shadow's figures, with its model. */
export function shadowJson(rollout: ModelRollout) {
  return { model: rollout.model, ...rollout.shadow!.json() };
}

/** A rollout's figures for the dashboard: confusion pairs without their pixels. */
export function rolloutSnapshot(rollout: ModelRollout) {
  const shadow = rollout.shadow && shadowJson(rollout);
  return {
    model: rollout.model,
    version: rollout.version,
    serving: rollout.servingVersion,
    shadow: shadow && {
      ...shadow,
      confusion: shadow.confusion.slice(0, 5).map(({ examples: _, ...pair }) => pair),
    },
    canary: rollout.canary && canaryJson(rollout, false),
  };
}
