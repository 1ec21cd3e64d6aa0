/**
 * The repository routes' usual control (`RepositoryControl`): the index rows
 * of a scan, and load and unload as a mark in the repository and a rescan,
 * one change of a model at a time.
 *
 * @example
 * ```ts
 * import { indexRows } from "./repository_control.ts";
 *
 * // A repository without models has no rows; each version of one is a row.
 * console.log(indexRows([], () => null)); // []
 * ```
 * @module
 */
import type { Access } from "../auth/access.ts";
import { shown, WireError } from "../../shared/errors.ts";
import type { ModelChanges } from "../models/model_changes.ts";
import type { BodyReading } from "./body.ts";
import type { ModelRepository } from "../models/repository.ts";
import type { ModelStatus } from "../models/version_status.ts";
import type { RepositoryWatcher } from "../models/watch.ts";
import { type IndexRow, type RepositoryControl, RepositoryError } from "./repository.ts";
import { withoutPaths } from "./_without_paths.ts";

/**
 * The index rows for a scan: the version that serves is `READY`; the latest
 * valid version while a swap to it runs is `LOADING`; every other version is
 * `UNAVAILABLE` with the reason (refused, unloaded, or not the latest).
 */
export function indexRows(
  models: readonly ModelStatus[],
  serving: (name: string) => number | null,
): IndexRow[] {
  const rows: IndexRow[] = [];
  for (const model of models) {
    const served = serving(model.name);
    for (const v of model.versions) {
      const row: IndexRow = {
        name: model.name,
        version: String(v.version),
        state: "UNAVAILABLE",
        reason: v.reason,
      };
      if (v.version === served) row.state = "READY";
      else if (v.state === "READY") {
        if (model.unloaded) row.reason = "unloaded";
        else if (v === model.latest) row.state = "LOADING";
        else if (v.stage !== null) {
          row.reason = v.stage === "candidate"
            ? "candidate: serves nobody until a shadow, canary or promote names it"
            : `stage "${v.stage}": the version policy "latest" skips it`;
        } else {
          row.reason = `not served: version policy "latest" serves version ${
            model.latest?.version ?? served
          }`;
        }
      }
      rows.push(row);
    }
  }
  return rows;
}

/**
 * The usual control: load and unload mark the model in the repository and ask
 * the watcher for a rescan (which the server turns into a swap), then check
 * what serves. The watcher's `rescan` must resolve only once its swaps are
 * done, so that `serving` already tells the new version.
 */
export function repositoryControl(options: {
  repository: ModelRepository;
  watcher: RepositoryWatcher;
  access: Access;
  /** The version of model `name` that answers requests now, or null. */
  serving: (name: string) => number | null;
  /** A request body's deadline and memory budget; absent, neither. */
  bodyReading?: BodyReading;
  /** The models with a change under way (`ModelServing.changes`). */
  changes: ModelChanges;
}): RepositoryControl {
  const { repository, watcher, serving } = options;
  const unknown = (name: string) =>
    new RepositoryError(
      404,
      "MODEL_UNAVAILABLE",
      `no model named ${shown(name)} in the repository`,
    );
  // One change of a model at a time, the rollouts' too (`ModelChanges`).
  const exclusive = async (name: string, change: () => Promise<void>) => {
    const started = options.changes.start(name, change);
    if (started instanceof WireError) {
      throw new RepositoryError(503, "SERVER_BUSY", started.message);
    }
    await started;
  };
  return {
    access: options.access,
    bodyReading: options.bodyReading,
    index: () =>
      indexRows(repository.models, serving).map((row) => ({
        ...row,
        reason: withoutPaths(row.reason, repository.root),
      })),
    load: (name) => exclusive(name, () => load(name)),
    unload: (name) =>
      exclusive(name, async () => {
        if (!repository.setLoaded(name, false)) throw unknown(name);
        await watcher.trigger("request");
      }),
  };

  async function load(name: string): Promise<void> {
    if (!repository.setLoaded(name, true)) {
      // Perhaps just copied in: look again before saying there is no such model.
      await watcher.trigger("request");
      if (!repository.setLoaded(name, true)) throw unknown(name);
    }
    await watcher.trigger("request");
    const model = repository.find(name);
    const version = serving(name);
    if (version === null || version !== model?.latest?.version) {
      const why = model?.versions.filter((v) => v.reason)
        .map((v) => `version ${v.version}: ${v.reason}`).join("; ");
      throw new RepositoryError(
        400,
        "MODEL_UNAVAILABLE",
        `model "${name}" could not be loaded${
          why ? ` (${withoutPaths(why, repository.root)})` : ""
        }`,
      );
    }
  }
}
