/**
 * Opening what a server serves: the repository (or one file), scanned, with
 * every model that has a valid version started, warmed, behind its queue.
 *
 * @example
 * ```ts ignore
 * import { openServing } from "./open.ts";
 *
 * const serving = await openServing({ modelRepository: "models" }, log, monitor);
 * ```
 * @module
 */
import { startEngines } from "../engine/instances.ts";
import type { Logger } from "../log.ts";
import type { Monitor } from "../monitor/monitor.ts";
import type { ServerOptions } from "../options.ts";
import { DEFAULT_MODEL_NAME } from "./flags.ts";
import { DEFAULT_REPOSITORY, ModelRepository } from "./repository.ts";
import { ModelServing } from "./serving.ts";
import type { LoadFailure } from "./version_status.ts";

/** WASM threads per instance by default: one (independent instances scale; threads can hang at start). */
export const DEFAULT_THREADS = 1;

/**
 * The run time batches aim for while a client queues ahead, ms, by default:
 * a board's digit beside a flood then waits for about two such runs (WASM
 * batches of about 8 digits here; bench/README).
 */
export const DEFAULT_BATCH_MS = 3;

/**
 * How many of `instances` run at once while a client queues ahead: all of
 * them, but never every core, so that the event loop keeps one for the
 * sockets of the clients that wait their turn.
 */
export function floodInstances(instances: number, cores = navigator.hardwareConcurrency): number {
  return Math.max(1, Math.min(instances, cores - 1));
}

/** Opens the repository (or the one file), scans it and starts every model that can serve, warmed. */
export async function openServing(
  options: ServerOptions,
  log: Logger,
  monitor: Monitor,
): Promise<ModelServing> {
  const verify = options.verifyChecksum ?? true;
  const repositoryOptions = {
    allowChecksumMismatch: !verify,
    log,
    // The swap's own start (load, shape check, warm-up) is the probe: no second load.
    probe: async () => {},
    onLoadFailure: (failure: LoadFailure) => {
      monitor.metrics.loadFailure(failure.model, failure.kind);
      options.onLoadFailure?.(failure);
    },
  };
  const defaultModel = options.defaultModel ?? DEFAULT_MODEL_NAME;
  const repository = options.model
    ? ModelRepository.single(
      options.model instanceof URL ? options.model.pathname : options.model,
      defaultModel,
      repositoryOptions,
    )
    : ModelRepository.open(options.modelRepository ?? DEFAULT_REPOSITORY, repositoryOptions);
  return await ModelServing.start(repository, {
    defaultModel,
    instances: options.instances ?? 1,
    startEngines,
    engine: {
      threads: options.threads ?? DEFAULT_THREADS,
      engine: options.engine,
      onWarmupRetry: (attempt, reason) =>
        log.warn("engine warm-up hung; starting it afresh", { attempt, reason }),
      maxBatch: options.maxBatch ?? 128,
      runTimeoutMs: options.runTimeoutMs,
      workerUrl: options.workerUrl,
      onRestart: (reason) =>
        log.error("engine worker replaced", { code: "INTERNAL_ERROR", reason }),
    },
    queue: {
      maxBatch: options.maxBatch ?? 128,
      batchMs: options.batchMs ?? DEFAULT_BATCH_MS,
      floodInstances: floodInstances(options.instances ?? 1),
      maxQueued: options.maxQueued ?? 4096,
      onRun: (event) => {
        if (!event.failed) monitor.run(event.model, event.version, event.batchSize);
        options.onRun?.(event);
      },
    },
    log,
    onSwap: (event) => {
      if (event.to !== null) monitor.metrics.modelServed(event.model, event.to);
      options.onSwap?.(event);
    },
  });
}
