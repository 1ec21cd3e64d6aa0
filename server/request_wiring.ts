/**
 * The request path's wiring: the one `RequestHandler` every transport calls,
 * routing through the rollouts (a canary's device goes to the candidate) and
 * telling each request's outcome to the monitor, the rollouts, the
 * `onRequest` observer and the capture (`--capture`). The server's own
 * warm-up is counted apart by the monitor (`Monitor.warmUpStarted`) and told
 * to none of the others.
 *
 * @example
 * ```ts
 * import { wireRequests } from "./request_wiring.ts";
 * import { startServer } from "./server.ts";
 *
 * // InferenceServer wires its request path once; what it hands back serves every transport.
 * const server = await startServer({ hostname: "127.0.0.1", port: 0 });
 * const wired: ReturnType<typeof wireRequests> = { handler: server.handler, rollouts: server.rollouts };
 * console.log(wired.rollouts.active.length, server.stats().served); // 0 0
 * await server.shutdown();
 * ```
 * @module
 */
import { DIGIT_PIXELS } from "../shared/codec.ts";
import { type Stats } from "../shared/reply_codec.ts";
import type { Monitor } from "./monitor/monitor.ts";
import { requestFromHandler } from "./monitor/from_handler.ts";
import { RequestHandler } from "./core/handler.ts";
import type { RequestEvent } from "./core/request.ts";
import type { ModelServing } from "./models/serving.ts";
import type { ResolvedServerOptions } from "./options.ts";
import type { RepositoryWatcher } from "./models/watch.ts";
import type { DigitCapture } from "./capture/capture.ts";
import { Rollouts } from "./rollout/rollouts.ts";
import { registerRolloutMetrics } from "./rollout/metrics.ts";
import type { FleetUpdates } from "./fleet/updates.ts";

/** The parts a request path is wired from. */
export interface RequestParts {
  serving: ModelServing;
  /** Rollouts rescan the repository through it (promote, rollback). */
  watcher: RepositoryWatcher;
  monitor: Monitor;
  options: ResolvedServerOptions;
  updates: FleetUpdates;
  /** What `GET_STATS` answers. */
  stats: () => Stats;
}

/** The handler every transport calls, and the rollouts that route and observe for it. */
export function wireRequests(
  { serving, watcher, monitor, options, updates, stats }: RequestParts,
): { handler: RequestHandler; rollouts: Rollouts } {
  const log = options.log;
  const rollouts = new Rollouts({
    serving,
    rescan: () => watcher.trigger("request"),
    log,
    rules: options,
    shadowSample: options.shadowSample,
    lowConfidence: options.lowConfidence,
    maxIdle: options.maxBatch,
    onShadow: (event) => {
      options.onShadow?.(event);
      // A disagreement is worth labelling; a kept digit gets the candidate's scores too.
      if (options.capture && !monitor.quiet) options.capture.shadowed(event);
    },
  });
  registerRolloutMetrics(monitor.metrics.registry, rollouts);
  serving.onUnserved = (model) => rollouts.unserved(model);
  const handler = new RequestHandler({
    route: (model, version, deviceId) => rollouts.route(model, version, deviceId),
    byDevice: () => rollouts.byDevice,
    stats,
    log,
    auth: options.auth ?? null,
    updates,
    onRequest: (event) => {
      // The monitor counts the server's own warm-up apart (`warmUpStarted`),
      // late replies included (`fromWarmUp`); nothing else sees it.
      monitor.request(requestFromHandler(event));
      if (monitor.fromWarmUp(event.totalMs)) return;
      rollouts.observe(event);
      options.onRequest?.(event);
      if (options.capture) captureServed(options.capture, event);
    },
  });
  return { handler, rollouts };
}

/** Offers every served digit to the capture (`--capture`): it keeps what its rule picks. */
function captureServed(capture: DigitCapture, event: RequestEvent): void {
  const digits = event.digitU8 ?? event.digit;
  if (!digits || !event.results) return;
  const device = event.deviceId;
  for (let i = 0; i < event.results.length; i++) {
    const result = event.results[i];
    capture.offer(digits.subarray(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS), {
      model: event.modelName,
      version: result.modelVersion,
      device,
      scores: result.scores,
    });
  }
}
