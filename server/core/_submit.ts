/**
 * Putting a request the handler has authorized, admitted and routed on its
 * model version's queue, and telling its caller the outcome once the
 * inference ends: a job (several digits, HTTP) refused or answered whole, a
 * single digit with one waiting object and no promise, `then` or closure (a
 * board's connection answers every frame this way). `handler.ts` decides;
 * this submits.
 *
 * @module
 */
import { WireError } from "../../shared/errors.ts";
import type { InferenceQueue } from "../engine/queue.ts";
import type { Inference } from "../engine/job.ts";
import { failed, refused, served } from "./outcome.ts";
import type { HandlerContext, HandlerRequest, OutcomeCallback, RequestOrigin } from "./request.ts";

/** A request waiting for its inference: what its answer needs, and who is told. */
export interface Waiting {
  ctx: HandlerContext;
  origin: RequestOrigin;
  request: HandlerRequest;
  /** The model version it was routed to: its answer's, or its failure's. */
  queue: InferenceQueue;
  started: number;
  bytesIn: number;
  device: string | null;
  done: OutcomeCallback<unknown>;
  context: unknown;
}

/**
 * Queues `w.request` on `w.queue`; `w.done(w.context, outcome)` is called
 * once, at once when the queue refuses it, else when its inference ends.
 * `copied`: a single digit's bytes are the handler's copy, which the queue may
 * keep.
 */
export function submit(w: Waiting, copied: boolean): void {
  const { ctx, origin, request, queue, started, bytesIn, device, done, context } = w;
  if (request.digits !== undefined) {
    const model = queue.model;
    const results = queue.submitJob(
      request.digits,
      request.digitU8,
      request.digit,
      origin.owner,
      request.version,
    );
    if (results instanceof WireError) {
      return done(
        context,
        refused(ctx, results, origin, request, started, bytesIn, device, true, queue),
      );
    }
    results.then(
      (all) => done(context, served(ctx, origin, request, all, model, started, bytesIn, device)),
      (error: WireError) =>
        done(context, failed(ctx, error, origin, request, started, bytesIn, device, queue)),
    );
    return;
  }
  const inference = queue.submitWith(
    request.digitU8,
    request.digit,
    origin.owner,
    copied,
    answered,
    w,
  );
  if (inference instanceof WireError) {
    origin.release?.();
    done(context, refused(ctx, inference, origin, request, started, bytesIn, device, true, queue));
  }
}

/** A queued digit's answer or error: released from the connection's share, then told. */
function answered(w: Waiting, result: Inference | WireError): void {
  w.origin.release?.();
  w.done(
    w.context,
    result instanceof WireError
      ? failed(w.ctx, result, w.origin, w.request, w.started, w.bytesIn, w.device, w.queue)
      : served(w.ctx, w.origin, w.request, [result], w.queue.model, w.started, w.bytesIn, w.device),
  );
}
