/**
 * A request's outcome: the reply to a served, failed or refused request,
 * encoded for the origin's protocol (legacy, framed, or the transport's own
 * `encode`), and the `RequestEvent` the observer (`onRequest`: metrics, the
 * dashboard, rollouts, `--capture`) is told once it is known. The handler
 * (`handler.ts`) decides; this answers.
 *
 * @example
 * ```ts
 * import { refused } from "./outcome.ts";
 * import { Status, WireError } from "../../shared/errors.ts";
 * import { Logger } from "../log.ts";
 *
 * const ctx = {
 *   route: () => new WireError(Status.MODEL_UNAVAILABLE, "no model is loaded"),
 *   stats: () => ({ version: 2, freq: 0, mode: 0, parameters: 0, served: 0, model: "", modelVersion: 0 }),
 *   log: new Logger("error"),
 *   onRequest: (event: { code: string }) => console.log(event.code), // SERVER_BUSY
 * };
 * const request = { command: 0, requestId: 9, digit: null, digitU8: null, token: "", model: "", client: "", device: "" };
 * const error = new WireError(Status.SERVER_BUSY, "the queue is full");
 * const outcome = refused(ctx, error, { protocol: "framed", peer: "10.0.0.7:5123" }, request, performance.now(), 0);
 * console.log(outcome.reply.requestId, outcome.bytes.length > 0); // 9 true
 * ```
 * @module
 */
import { Command } from "../../shared/codec.ts";
import { encodeLegacyReply, type Reply } from "../../shared/reply_codec.ts";
import { Status, statusName, WireError } from "../../shared/errors.ts";
import type { Inference } from "../engine/job.ts";
import type { InferenceQueue } from "../engine/queue.ts";
import { addressOf } from "../fleet/registry.ts";
import { identify, type Identity } from "./identify.ts";
import { replyBytes } from "./reply_bytes.ts";
import type { HandlerContext, HandlerRequest, Outcome, RequestOrigin } from "./request.ts";

/** A served inference: the first digit's answer, an update offer for a board, a debug line. */
export function served(
  ctx: HandlerContext,
  origin: RequestOrigin,
  request: HandlerRequest,
  results: Inference[],
  model: string,
  started: number,
  bytesIn: number,
  device: string | null,
): Outcome {
  const first = results[0];
  const reply: Reply = {
    command: Command.INFERENCE_OUTPUT,
    requestId: request.requestId,
    scores: first.scores,
    predicted: first.predicted,
    inferenceMs: first.inferenceMs,
    queueMs: first.queueMs,
    batchSize: first.batchSize,
    modelVersion: first.modelVersion,
  };
  // An offer rides on a board's inference reply (never legacy's fixed 96 bytes, nor HTTP's).
  const updates = ctx.updates;
  const board = origin.protocol === "framed" || origin.protocol === "mqtt";
  let who: Identity | null = null;
  if (updates && board && request.digits === undefined) {
    who = identify(request, origin, device);
    const token = ctx.auth?.tokensOn ? request.token : "";
    if (who.by !== "address") reply.update = updates.offer(who.deviceId, who.firmware, token);
  }
  if (ctx.log.enabled("debug")) {
    ctx.log.debug("inference", {
      protocol: origin.protocol,
      peer: origin.peer,
      // The fleet's id: the token's name, else the board's own (this request's or its connection's).
      device: device ?? (request.device || origin.session?.device || undefined),
      id: request.label || request.requestId,
      model,
      version: first.modelVersion,
      digits: results.length,
      predicted: results.length === 1 ? first.predicted : results.map((r) => r.predicted).join(""),
      batch: first.batchSize,
      queue_ms: first.queueMs.toFixed(3),
      run_ms: first.inferenceMs.toFixed(3),
    });
  }
  return finish(ctx, origin, request, reply, results, model, started, bytesIn, device, who);
}

/** A queued request that failed: an engine failure is logged, then refused. */
export function failed(
  ctx: HandlerContext,
  error: WireError,
  origin: RequestOrigin,
  request: HandlerRequest,
  started: number,
  bytesIn: number,
  device: string | null,
  queue: InferenceQueue,
): Outcome {
  // A version a swap overtook is the client's to retry; an engine failure is logged.
  if (error.status === Status.INTERNAL_ERROR) {
    ctx.log.error("inference failed", {
      protocol: origin.protocol,
      peer: origin.peer,
      code: error.code,
      error: error.message,
    });
  }
  return refused(
    ctx,
    error,
    origin,
    request,
    started,
    bytesIn,
    device,
    error.status !== Status.INTERNAL_ERROR,
    queue,
  );
}

/**
 * Who a request counts against before a token proved who sent it: with
 * tokens on, no one but its address (a device its transport or its fields
 * name is a claim, and a refusal must not raise another device's error
 * count); with tokens off, the device its transport names (MQTT's topic), as
 * a served request is.
 */
export function unproved(ctx: HandlerContext, origin: RequestOrigin): string | null {
  return ctx.auth?.tokensOn ? null : origin.device ?? null;
}

/**
 * The error reply to a request; logged at debug unless `log` is false.
 * `device`: the device its token proved, else `unproved(ctx, origin)`; with
 * tokens on and none proved, it counts against its address alone. `queue`:
 * the model version it was routed to, when it got that far (a canary's
 * candidate, a pinned version), else the one its model serves.
 */
export function refused(
  ctx: HandlerContext,
  error: WireError,
  origin: RequestOrigin,
  request: HandlerRequest,
  started: number,
  bytesIn: number,
  device: string | null = unproved(ctx, origin),
  log = true,
  queue: InferenceQueue | null = null,
): Outcome {
  if (log && ctx.log.enabled("debug")) {
    ctx.log.debug("request refused", {
      protocol: origin.protocol,
      peer: origin.peer,
      id: request.requestId,
      code: error.code,
      error: error.message,
    });
  }
  const reply: Reply = {
    command: Command.ERROR,
    requestId: request.requestId,
    status: error.status,
    error: error.message,
  };
  let who: Identity | null = null;
  if (device === null && ctx.auth?.tokensOn) {
    // Identified as ever (a connection's session keeps its first request's fields), but
    // counted against the address alone.
    const { firmware } = identify(request, origin, null);
    who = { deviceId: "addr:" + addressOf(origin.peer), by: "address", firmware };
  }
  return finish(ctx, origin, request, reply, null, "", started, bytesIn, device, who, queue);
}

/**
 * Encodes the reply for the origin's protocol and tells the observer the
 * request's outcome; `who`: the request's identity when the caller worked
 * it out already; `queue`: the version a refused request was routed to.
 */
export function finish(
  ctx: HandlerContext,
  origin: RequestOrigin,
  request: HandlerRequest,
  reply: Reply,
  results: Inference[] | null,
  model: string,
  started: number,
  bytesIn: number,
  device: string | null = origin.device ?? null,
  who: Identity | null = null,
  queue: InferenceQueue | null = null,
): Outcome {
  const result = results?.[0] ?? null;
  // A legacy inference gets the fixed 96-byte reply the legacy protocol defines.
  const bytes = origin.encode
    ? origin.encode(reply, results)
    : origin.protocol === "legacy" && result
    ? encodeLegacyReply(result.scores, result.inferenceMs)
    : replyBytes(reply, origin.protocol === "framed");
  const outcome = { reply, results, bytes };
  const observer = ctx.onRequest;
  if (!observer) return outcome;
  const { deviceId, by, firmware } = who ?? identify(request, origin, device);
  const status = reply.status ?? Status.OK;
  let version = result?.modelVersion ?? null;
  if (status !== Status.OK && isInference(request.command)) {
    // A refused inference counts against the version it was routed to, else
    // the one its model serves or the one it pinned (never a name or a
    // version a client made up).
    const pinned = request.version;
    const routed = queue ?? ctx.route(request.model, pinned);
    const its = !(routed instanceof WireError) &&
      (queue !== null || pinned === undefined || routed.engineSet.version === pinned);
    if (its) {
      model = routed.model;
      version = routed.engineSet.version;
    }
  }
  try {
    observer({
      protocol: origin.protocol,
      peer: origin.peer,
      command: request.command,
      requestId: request.requestId,
      status,
      code: statusName(status),
      error: reply.error ?? "",
      digitU8: request.digitU8,
      digit: request.digit,
      digits: request.digitU8 || request.digit ? request.digits ?? 1 : 0,
      results,
      modelName: model,
      predicted: result?.predicted ?? null,
      scores: result?.scores ?? null,
      queueMs: result?.queueMs ?? null,
      inferenceMs: result?.inferenceMs ?? null,
      batchSize: result?.batchSize ?? null,
      modelVersion: version,
      totalMs: performance.now() - started,
      device,
      deviceId,
      identifiedBy: by === "token" && !ctx.auth?.tokensOn ? "device" : by,
      firmware,
      token: request.token,
      model: request.model,
      client: request.client,
      label: request.label ?? "",
      bytesIn,
      bytesOut: bytes.length,
    });
  } catch (e) {
    ctx.log.error("request observer failed", { error: (e as Error).message });
  }
  return outcome;
}

/** Whether a command asks for an inference (or may have: -1 is a message that could not be read). */
export function isInference(command: number): boolean {
  return command !== Command.GET_STATS && command !== Command.CODE_CHUNK &&
    command !== Command.UPDATE_REPORT;
}
