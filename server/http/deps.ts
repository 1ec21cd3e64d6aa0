/**
 * What the HTTP port needs from a running server, in one place: the one
 * request handler, the served models as OIP describes them (looked up per
 * request, so a swap shows at once), readiness, who may use the operator's
 * routes (`Access`) and the repository extension. `startServer` calls it
 * (`http.ts` serves the port on what it returns).
 *
 * @example
 * ```ts
 * import { modelInfo } from "./deps.ts";
 * import { startServer } from "../server.ts";
 *
 * const server = await startServer({ port: 0, warmUpMs: 0 });
 * const info = modelInfo(server.serving.models[0], 128);
 * console.log(info.name, info.input, info.inputDims); // mnist input [-1, 1, 28, 28]
 * await server.shutdown();
 * ```
 * @module
 */
import { shown, Status, WireError } from "../../shared/errors.ts";
import type { RequestHandler } from "../core/handler.ts";
import { Access } from "../auth/access.ts";
import type { AddressRanges } from "../auth/cidr.ts";
import type { Authorizer } from "../auth/authorize.ts";
import type { InferenceEngine } from "../engine/engine.ts";
import type { Logger } from "../log.ts";
import type { ModelServing, ServedModel } from "../models/serving.ts";
import type { RepositoryWatcher } from "../models/watch.ts";
import type { Monitor } from "../monitor/monitor.ts";
import type { BodyReading } from "./body.ts";
import type { HttpDeps } from "./http.ts";
import type { ModelInfo } from "./oip_model.ts";
import { fleetRoutes } from "./fleet.ts";
import { codeRolloutRoutes } from "./code_rollouts.ts";
import type { FleetUpdates } from "../fleet/updates.ts";
import { repositoryRoutes } from "./repository.ts";
import { repositoryControl } from "./repository_control.ts";
import type { Rollouts } from "../rollout/rollouts.ts";
import { modelRolloutRoutes } from "./model_rollouts.ts";

/** The parts of a server the HTTP port reads. */
export interface HttpSource {
  serving: ModelServing;
  watcher: RepositoryWatcher;
  ready(): boolean;
  /** Whether the process can go on by itself (`GET /v2/health/live`). */
  live(): boolean;
  log: Logger;
  maxBatch: number;
  /** Largest HTTP request body, in bytes. */
  maxBodyBytes: number;
  /** How an HTTP request's body is read: its deadline and the memory budget it is charged to. */
  bodyReading: BodyReading;
  handler: RequestHandler;
  /** Shadow, canary, promote and rollback (their routes; a versioned route may name a candidate). */
  rollouts: Rollouts;
  /** `--trusted-proxy`: peers whose `X-Forwarded-For` names the client. */
  trustedProxies: AddressRanges | null;
}

/** OIP's view of a served model: name, version, tensors, runtime. */
export function modelInfo(model: ServedModel, maxBatch: number): ModelInfo {
  const engine: InferenceEngine = model.queue.engineSet.engines[0];
  return {
    name: model.name,
    version: String(model.queue.engineSet.version),
    platform: "onnxruntime_onnx",
    input: engine.shape.input,
    output: engine.shape.output,
    inputDims: engine.shape.inputDims.map((d, i) => (i === 0 ? -1 : d)),
    maxBatch: Math.min(maxBatch, engine.maxBatch),
    runtime: engine.shape.runtime,
    instances: model.queue.engineSet.engines.length,
  };
}

/** The HTTP port's dependencies on `source`. */
export function httpDeps(
  source: HttpSource,
  extra: {
    monitor: Monitor;
    auth: Authorizer | null;
    adminToken: string | null;
    operatorToken?: string | null;
    metricsToken?: string;
    serverVersion: string;
    /** Board code updates (`--firmware-dir`), and how to rescan its folder. */
    updates?: FleetUpdates | null;
    rescanReleases?: () => Promise<void>;
  },
): HttpDeps {
  const { serving } = source;
  const access = new Access({
    adminToken: extra.adminToken,
    operatorToken: extra.operatorToken,
    metricsToken: extra.metricsToken,
    deviceTokens: extra.auth?.tokensOn ?? false,
  });
  const routes = repositoryRoutes(repositoryControl({
    repository: serving.repository,
    watcher: source.watcher,
    access,
    serving: (name) => serving.versions().get(name) ?? null,
    bodyReading: source.bodyReading,
    changes: serving.changes,
  }));
  const modelRollouts = modelRolloutRoutes(source.rollouts, access, source.bodyReading);
  return {
    handler: source.handler,
    maxBodyBytes: source.maxBodyBytes,
    bodyReading: source.bodyReading,
    model: (name, version) => {
      const model = serving.models.find((m) => m.name === name);
      if (!model) {
        return new WireError(
          Status.MODEL_UNAVAILABLE,
          `no model ${shown(name)} is served (served: ${
            serving.models.map((m) => m.name).join(", ") || "none"
          })`,
        );
      }
      const serves = String(model.queue.engineSet.version);
      // A candidate that a shadow or canary loaded answers a route naming its version.
      const candidate = version === undefined
        ? null
        : source.rollouts.candidate(name, Number(version));
      if (candidate) return modelInfo(candidate, source.maxBatch);
      if (version !== undefined && version !== serves) {
        return new WireError(
          Status.MODEL_UNAVAILABLE,
          `model "${name}" has no version ${shown(version)} serving; it serves version ${serves}`,
        );
      }
      return modelInfo(model, source.maxBatch);
    },
    extraRoutes: (request) => routes(request) ?? modelRollouts(request),
    fleetRoutes: fleetRoutes({
      fleet: extra.monitor.fleet,
      series: extra.monitor.series,
      access,
      rollouts: extra.updates
        ? codeRolloutRoutes({
          updates: extra.updates,
          rescan: extra.rescanReleases!,
          access,
          bodyReading: source.bodyReading,
        })
        : undefined,
    }),
    ready: () => source.ready(),
    live: () => source.live(),
    monitor: extra.monitor,
    log: source.log,
    server: { name: "mnist-server", version: extra.serverVersion },
    access,
    trustedProxies: source.trustedProxies,
  };
}
