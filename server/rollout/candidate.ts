/**
 * Starting a rollout's candidate: the version folder is made ready in the
 * repository (`readyVersion`), checked against what serves, and its engines
 * started beside the serving version's, giving a fresh `ModelRollout` with no
 * shadow and no canary yet. Each refusal is a `RolloutError` with the HTTP
 * status the rollout routes answer.
 *
 * @example
 * ```ts
 * import { startCandidate } from "./candidate.ts";
 * import { RolloutError } from "./rollout.ts";
 * import { startServer } from "../server.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0 });
 * const version = server.queue.engineSet.version;
 * const refused = await startCandidate(server.serving, () => server.watcher.trigger("request"), {
 *   name: "mnist",
 *   version,
 *   maxIdle: 64,
 * }).catch((e: RolloutError) => e.message);
 * console.log(refused); // "version 1 serves already": what serves is no candidate
 * await server.shutdown();
 * ```
 * @module
 */
import { shown, WireError } from "../../shared/errors.ts";
import type { ModelServing, ServedModel } from "../models/serving.ts";
import { type ModelRollout, readyVersion, RolloutError } from "./rollout.ts";

/** Which candidate to start, and its idle lane's size (`RolloutOptions.maxIdle`). */
export interface CandidateRequest {
  name: string;
  version: number;
  maxIdle: number;
}

/** Starts candidate `version` of model `name`; the caller keeps the rollout and ends it. */
export async function startCandidate(
  serving: ModelServing,
  rescan: () => Promise<void>,
  { name, version, maxIdle }: CandidateRequest,
): Promise<ModelRollout> {
  const status = await readyVersion(serving.repository, rescan, name, version);
  const served = serving.route(name);
  if (served instanceof WireError) {
    throw new RolloutError(404, "MODEL_UNAVAILABLE", served.message);
  }
  if (served.engineSet.version === version) {
    throw new RolloutError(409, "BAD_UPDATE", `version ${version} serves already`);
  }
  let candidate: ServedModel;
  try {
    candidate = await serving.startVersion(status, maxIdle);
  } catch (e) {
    throw new RolloutError(
      400,
      "MODEL_UNAVAILABLE",
      `version ${version} of model ${shown(name)} could not start: ${(e as Error).message}`,
    );
  }
  // The model may have stopped serving while its candidate started (an unload, a folder
  // removed): nothing would end a rollout registered now (`ModelServing.onUnserved` ran).
  const still = serving.route(name);
  if (still instanceof WireError) {
    await candidate.queue.close();
    throw new RolloutError(404, "MODEL_UNAVAILABLE", still.message);
  }
  return {
    model: name,
    version,
    servingVersion: served.engineSet.version,
    path: status.path,
    candidate,
    shadow: null,
    canary: null,
    ending: false,
  };
}
