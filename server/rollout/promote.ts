/**
 * Promote and retire: the two changes of what serves that are written into
 * the repository (`stage.ts`), so that they survive a restart. Promote
 * removes a version's `"stage"` and rescans: "latest" serves it, by a live
 * swap that takes the warmed engines of its shadow or canary when it has
 * one. Retire (a rollback with no rollout running) writes `"stage":
 * "retired"` into the serving version and rescans: the version below it
 * serves again. `Rollouts` runs them one at a time per model.
 *
 * @example
 * ```ts
 * import { startServer } from "../server.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0, adminToken: "admin-token-0123456789" });
 * // POST /v2/models/mnist/promote {"version":2} calls server.rollouts.promote("mnist", 2).
 * await server.rollouts.promote("mnist", 1).catch((e) => console.log(e.message)); // only one version
 * await server.shutdown();
 * ```
 * @module
 */
import { shown } from "../../shared/errors.ts";
import type { ModelServing, ServedModel } from "../models/serving.ts";
import {
  type ModelRollout,
  newerServable,
  readyVersion,
  RolloutError,
  type RolloutOptions,
  servableBelow,
} from "./rollout.ts";
import { cannotWriteStage, writeStage } from "./stage.ts";

/** What promote and retire may do to the rollouts. */
export interface VersionChanges {
  serving(): ModelServing;
  options(): RolloutOptions;
  /** The model's running rollout. */
  rollout(name: string): ModelRollout | undefined;
  /** Routes nobody to the rollout's candidate any more; false when it was ending already. */
  detach(rollout: ModelRollout): boolean;
  /** Ends the rollout: detached, its candidate's engines closed. */
  end(rollout: ModelRollout): Promise<void>;
  promoted(name: string): void;
  rolledBack(name: string): void;
}

/** Makes `version` of model `name` the served version for everyone; see the module doc. */
export async function promote(
  changes: VersionChanges,
  name: string,
  version: number,
): Promise<{ from: number | null; to: number }> {
  const serving = changes.serving();
  const options = changes.options();
  const status = await readyVersion(serving.repository, options.rescan, name, version);
  const from = serving.versions().get(name) ?? null;
  refuseUnloaded(serving, name, "promote");
  const newer = newerServable(serving.repository, name, version);
  if (newer !== null) {
    throw new RolloutError(
      409,
      "BAD_UPDATE",
      `version ${newer} is newer and not a candidate, so "latest" would go on serving it`,
    );
  }
  // One candidate per model at a time: another's rollout is not ended for a
  // promote that may yet fail (as a second shadow or canary is refused).
  const rollout = changes.rollout(name);
  if (rollout && rollout.version !== version) {
    throw new RolloutError(
      409,
      "BAD_UPDATE",
      `model ${shown(name)} has a rollout of version ${rollout.version} running: ` +
        `promote that one, or end it first`,
    );
  }
  if (status.stage !== null) await writable(status.path);
  // The candidate's warmed engines become the served version's: nothing
  // starts while the fleet is sending. Its queue is drained first.
  const adopted = rollout?.version === version && changes.detach(rollout) ? rollout : null;
  if (adopted) {
    await adopted.candidate.queue.drained();
    serving.offer(adopted.candidate);
  } else if (rollout) await changes.end(rollout);
  try {
    if (status.stage !== null) await writeStage(status.path, null);
    await options.rescan();
  } finally {
    if (adopted && serving.withdraw(adopted.candidate)) await adopted.candidate.queue.close();
  }
  const to = serving.versions().get(name);
  if (to !== version) {
    const { reason } = await readyVersion(serving.repository, options.rescan, name, version)
      .catch((e: Error) => ({ reason: e.message }));
    // Refused by its swap (its shapes, its warm-up): what served goes on, and
    // its stage goes back, so the repository says what serves (and a restart too).
    if (status.stage !== null) {
      await writeStage(status.path, status.stage);
      await options.rescan();
    }
    throw new RolloutError(
      400,
      "MODEL_UNAVAILABLE",
      `version ${version} of model ${shown(name)} cannot serve: ${reason}; ` +
        (from === null ? "nothing else serves" : `version ${from} serves on`) +
        (status.stage !== null
          ? `, and version ${version} stays ${JSON.stringify(status.stage)}`
          : ""),
    );
  }
  changes.promoted(name);
  options.log.info("version promoted", { model: name, from: from ?? undefined, version });
  return { from, to };
}

/** Retires the serving version of model `name`, so the one below it serves; see the module doc. */
export async function retireServing(
  changes: VersionChanges,
  name: string,
): Promise<{ ended: null; from: number | null; to: number | null }> {
  const serving = changes.serving();
  const options = changes.options();
  if (!serving.repository.find(name)) {
    throw new RolloutError(
      404,
      "MODEL_UNAVAILABLE",
      `no model named ${shown(name)} in the repository`,
    );
  }
  refuseUnloaded(serving, name, "roll back");
  const from = serving.versions().get(name) ?? null;
  const below = from === null ? null : servableBelow(serving.repository, name, from);
  if (from === null || below === null) {
    throw new RolloutError(
      409,
      "BAD_UPDATE",
      from === null
        ? `model ${shown(name)} has no rollout running and no version serving to go back from`
        : `model ${shown(name)} has no rollout running and no version below ${from} to go back to`,
    );
  }
  const { path, stage } = await readyVersion(serving.repository, options.rescan, name, from);
  await writable(path);
  // The version below is started first, and handed to the swap: one that
  // cannot serve (a scan checks only the version it serves) is found out
  // before the serving one is retired, not after, when nothing would serve.
  const belowStatus = await readyVersion(serving.repository, options.rescan, name, below);
  let started: ServedModel;
  try {
    started = await serving.startVersion(belowStatus);
  } catch (e) {
    throw new RolloutError(
      400,
      "MODEL_UNAVAILABLE",
      `version ${below} of model ${shown(name)} cannot serve: ${(e as Error).message}; ` +
        `version ${from} serves on`,
    );
  }
  serving.offer(started);
  try {
    await writeStage(path, "retired");
    await options.rescan();
  } finally {
    if (serving.withdraw(started)) await started.queue.close();
  }
  const to = serving.versions().get(name) ?? null;
  if (to === null) {
    // Nothing serves (the version below changed meanwhile): the retired one comes back.
    await writeStage(path, stage);
    await options.rescan();
    const now = serving.versions().get(name);
    throw new RolloutError(
      400,
      "MODEL_UNAVAILABLE",
      `version ${below} of model ${shown(name)} did not take over; ` +
        (now === undefined ? "nothing serves" : `version ${now} serves on`),
    );
  }
  changes.rolledBack(name);
  options.log.warn("version rolled back", { model: name, from, version: to ?? undefined });
  return { ended: null, from, to };
}

/** A 409 when model `name` is unloaded: promote and rollback change what it serves once loaded. */
function refuseUnloaded(serving: ModelServing, name: string, what: string): void {
  if (serving.repository.find(name)?.unloaded) {
    throw new RolloutError(
      409,
      "BAD_UPDATE",
      `model ${shown(name)} is unloaded: load it before you ${what}`,
    );
  }
}

/** A 500 with the reason when the stage of the model at `path` cannot be written. */
async function writable(path: string): Promise<void> {
  const why = await cannotWriteStage(path);
  if (why) throw new RolloutError(500, "INTERNAL_ERROR", why);
}
