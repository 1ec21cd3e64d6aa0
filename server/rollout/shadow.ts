/**
 * The shadow's sampling: after the serving version answered a request, a
 * sample of its digits goes into the candidate's idle lane
 * (`InferenceQueue.submitIdle`) with the serving answer beside it; the
 * candidate's answer completes a `ShadowEvent` (`shadowed`). Digits the
 * candidate answered itself (a canary's board) are no comparison.
 *
 * @example
 * ```ts
 * import { offerShadow } from "./shadow.ts";
 *
 * // Rollouts.observe calls it for every served request of a model in shadow:
 * console.log(typeof offerShadow); // "function"
 * ```
 * @module
 */
import { DIGIT_PIXELS } from "../../shared/codec.ts";
import type { WireError } from "../../shared/errors.ts";
import type { RequestEvent } from "../core/request.ts";
import type { Inference } from "../engine/job.ts";
import type { ShadowFigures } from "./figures.ts";
import type { ModelRollout } from "./rollout.ts";
import type { ShadowEvent } from "./shadow_event.ts";

/** Told each comparison: `RolloutObserver.compared` (`_observer.ts`). */
export interface ComparisonSink {
  compared(rollout: ModelRollout, shadow: ShadowFigures, event: ShadowEvent): void;
}

/** What a shadow run's callback carries. */
interface PendingShadow {
  sink: ComparisonSink;
  rollout: ModelRollout;
  shadow: ShadowFigures;
  event: ShadowEvent;
}

/** Samples the served request's digits into the candidate's idle lane; returns how many were dropped. */
export function offerShadow(
  sink: ComparisonSink,
  rollout: ModelRollout,
  shadow: ShadowFigures,
  event: RequestEvent,
): number {
  const digits = event.digitU8 ?? event.digit;
  const results = event.results;
  if (!digits || !results) return 0;
  let dropped = 0;
  for (let i = 0; i < results.length; i++) {
    const served = results[i];
    if (served.modelVersion === rollout.version || Math.random() >= shadow.sample) continue;
    shadow.sampled++;
    // Copies: the request's buffers and the batch's scores are reused after this returns.
    const one = digits.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS);
    const pending: PendingShadow = {
      sink,
      rollout,
      shadow,
      event: {
        model: rollout.model,
        deviceId: event.deviceId,
        digitU8: one instanceof Uint8Array ? one : null,
        digit: one instanceof Float32Array ? one : null,
        serving: {
          version: served.modelVersion,
          scores: served.scores.slice(),
          predicted: served.predicted,
        },
        candidate: { version: rollout.version, scores: new Float32Array(10), predicted: -1 },
        agree: false,
      },
    };
    const { digitU8, digit } = pending.event;
    if (!rollout.candidate.queue.submitIdle(digitU8, digit, shadowed, pending)) {
      shadow.dropped++;
      dropped++;
    }
  }
  return dropped;
}

/** The idle lane's callback for one shadow digit: compared, or counted as failed. */
function shadowed(pending: PendingShadow, result: Inference | WireError): void {
  if (!("predicted" in result)) {
    pending.shadow.failed++;
    return;
  }
  const { event } = pending;
  event.candidate.scores = result.scores.slice();
  event.candidate.predicted = result.predicted;
  event.agree = result.predicted === event.serving.predicted;
  pending.sink.compared(pending.rollout, pending.shadow, event);
}
