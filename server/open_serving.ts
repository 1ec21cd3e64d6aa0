/**
 * Opening what a server serves: the repository (or one file), scanned, with
 * every model that has a valid version started, warmed, behind its queue.
 * It takes options with the option table's defaults filled in.
 *
 * @example
 * ```ts
 * import { openServing } from "./open_serving.ts";
 * import { ServerMetrics } from "./metrics/metrics.ts";
 * import { Monitor } from "./monitor/monitor.ts";
 * import { withServerDefaults } from "./options.ts";
 *
 * const options = withServerDefaults({ instances: 1 });
 * const monitor = new Monitor({ log: options.log, metrics: new ServerMetrics(null) });
 * const serving = await openServing(options, options.log, monitor);
 * console.log(serving.versions()); // Map { "mnist" => 1 }
 * await serving.close();
 * monitor.close();
 * ```
 * @module
 */
import { startEngines } from "./engine/instances.ts";
import type { Logger } from "./log.ts";
import type { Monitor } from "./monitor/monitor.ts";
import type { ResolvedServerOptions } from "./options.ts";
import { ModelRepository } from "./models/repository.ts";
import { ModelServing } from "./models/serving.ts";
import type { LoadFailure } from "./models/version_status.ts";

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
  options: ResolvedServerOptions,
  log: Logger,
  monitor: Monitor,
): Promise<ModelServing> {
  const repositoryOptions = {
    allowChecksumMismatch: !options.verifyChecksum,
    log,
    // The swap's own start (load, shape check, warm-up) is the probe: no second load.
    probe: async () => {},
    onLoadFailure: (failure: LoadFailure) => {
      monitor.metrics.loadFailure(failure.model, failure.kind);
      options.onLoadFailure?.(failure);
    },
  };
  const defaultModel = options.defaultModel;
  const repository = options.model
    ? ModelRepository.single(
      options.model instanceof URL ? options.model.pathname : options.model,
      defaultModel,
      repositoryOptions,
    )
    : ModelRepository.open(options.modelRepository, repositoryOptions);
  return await ModelServing.start(repository, {
    defaultModel,
    instances: options.instances,
    startEngines,
    engine: {
      threads: options.threads,
      engine: options.engine,
      onWarmupRetry: (attempt, reason) =>
        log.warn("engine warm-up hung; starting it afresh", { attempt, reason }),
      maxBatch: options.maxBatch,
      runTimeoutMs: options.runTimeoutMs,
      workerUrl: options.workerUrl,
      onRestart: (reason) =>
        log.error("engine worker replaced", { code: "INTERNAL_ERROR", reason }),
    },
    queue: {
      maxBatch: options.maxBatch,
      batchMs: options.batchMs,
      floodInstances: floodInstances(options.instances),
      maxQueued: options.maxQueued,
      onRun: (event) => {
        if (!event.failed) {
          monitor.run(event.model, event.version, event.batchSize, event.inferenceMs);
        }
        options.onRun?.(event);
      },
    },
    log,
    onSwap: (event) => {
      monitor.modelSwapped(event.model, event.from, event.to);
      options.onSwap?.(event);
    },
  });
}
