/**
 * What a repository scan says about models and versions, and what the server
 * should change after one (`changesAfterScan`). Kept apart from the scanning
 * (`repository.ts`) so the HTTP index, metrics and the swap can use the
 * types without the file-system code.
 *
 * @example
 * ```ts
 * import { changesAfterScan } from "./version_status.ts";
 * import { ModelRepository } from "./repository.ts";
 *
 * const models = await ModelRepository.open("models").scan();
 * for (const change of changesAfterScan(models, new Map([["mnist", 1]]))) {
 *   console.log(change.model, change.from, "->", change.to?.version ?? "nothing");
 * }
 * ```
 * @module
 */

/** Whether a version can serve, in Triton's words. */
export type VersionState = "READY" | "UNAVAILABLE";

/** Why a version was refused: a short word for a metric label, next to the sentence. */
export type RefusalKind =
  | "no_model_file"
  | "unreadable"
  | "empty"
  | "metadata"
  | "checksum"
  | "corrupt"
  | "shape"
  | "warmup";

/** One version as the last scan found it. */
export interface VersionStatus {
  model: string;
  version: number;
  state: VersionState;
  /** Why it is `UNAVAILABLE` ("" when `READY`). */
  reason: string;
  kind: RefusalKind | null;
  /** The model file's path. */
  path: string;
  /** The file's sha256 when it could be read. */
  sha256: string | null;
  parameters: number | null;
  /**
   * Its `model.json` `"stage"`: null (absent, or `"serving"`) for a version
   * the "latest" policy may serve; `"candidate"` for one that serves nobody
   * until a shadow, canary or promote names it; `"retired"` for one a
   * rollback took off (any other word is skipped by "latest" too).
   */
  stage: string | null;
}

/** Whether the "latest" policy may serve a version of this stage. */
export function servesByLatest(stage: string | null): boolean {
  return stage === null;
}

/** One model as the last scan found it. */
export interface ModelStatus {
  name: string;
  /** Its versions, highest first. */
  versions: VersionStatus[];
  /**
   * Version policy "latest": the highest `READY` version whose stage lets it
   * serve (never a candidate), or null (none, or unloaded).
   */
  latest: VersionStatus | null;
  /** Unloaded through `setLoaded(name, false)`: nothing of it serves until loaded again. */
  unloaded: boolean;
}

/** A version refused: what the log line and `mnist_model_load_failures_total` report. */
export interface LoadFailure {
  model: string;
  version: number;
  path: string;
  kind: RefusalKind;
  reason: string;
}

/** A change a scan asks of the server: serve `version` of `model`, or (null) stop serving it. */
export interface RepositoryChange {
  model: string;
  /** The version to serve now; null when nothing of the model can serve (or it was unloaded). */
  to: VersionStatus | null;
  /** The version served until now, or null. */
  from: number | null;
}

/**
 * What to swap after a scan: every model whose latest version differs from
 * the one `serving` reports, and every served model the scan no longer has.
 */
export function changesAfterScan(
  models: readonly ModelStatus[],
  serving: ReadonlyMap<string, number>,
): RepositoryChange[] {
  const changes: RepositoryChange[] = [];
  for (const model of models) {
    const from = serving.get(model.name) ?? null;
    const to = model.latest;
    if ((to?.version ?? null) !== from) changes.push({ model: model.name, to, from });
  }
  for (const [name, version] of serving) {
    if (!models.some((m) => m.name === name)) {
      changes.push({ model: name, to: null, from: version });
    }
  }
  return changes;
}
