/**
 * A board's code update requests: a chunk of a release (`CODE_CHUNK`) or the
 * report of an update's end (`UPDATE_REPORT`), answered from the fleet's
 * releases and rollouts (`fleet/updates.ts`). Only framed and MQTT boards
 * with an id of their own ask; anyone else is refused.
 *
 * @example
 * ```ts
 * import { answerUpdate } from "./code_update.ts";
 * import { Command } from "../../shared/codec.ts";
 * import { Status, WireError } from "../../shared/errors.ts";
 * import { Logger } from "../log.ts";
 *
 * const ctx = {
 *   route: () => new WireError(Status.MODEL_UNAVAILABLE, "no model is loaded"),
 *   stats: () => ({ version: 2, freq: 0, mode: 0, parameters: 0, served: 0, model: "", modelVersion: 0 }),
 *   log: new Logger("error"),
 * };
 * const request = { command: Command.UPDATE_REPORT, requestId: 3, digit: null, digitU8: null, token: "", model: "", client: "", device: "board-7" };
 * const outcome = answerUpdate(ctx, request, { protocol: "framed", peer: "10.0.0.7:5123" }, performance.now(), 0, null);
 * console.log(outcome.reply.error); // this server holds no releases (--firmware-dir)
 * ```
 * @module
 */
import { Command } from "../../shared/codec.ts";
import { type Reply } from "../../shared/reply_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { identify } from "./identify.ts";
import { finish, refused } from "./outcome.ts";
import type { HandlerContext, HandlerRequest, Outcome, RequestOrigin } from "./request.ts";

/**
 * A chunk request or an update report (framed and MQTT boards only, from a
 * device with an id of its own): the chunk, or an empty OK.
 */
export function answerUpdate(
  ctx: HandlerContext,
  request: HandlerRequest,
  origin: RequestOrigin,
  started: number,
  bytesIn: number,
  device: string | null,
): Outcome {
  const refuse = (error: WireError) =>
    refused(ctx, error, origin, request, started, bytesIn, device);
  if (origin.protocol !== "framed" && origin.protocol !== "mqtt") {
    return refuse(
      new WireError(Status.UNKNOWN_COMMAND, "code updates travel over framed and MQTT requests"),
    );
  }
  const updates = ctx.updates;
  if (!updates) {
    return refuse(
      new WireError(Status.UPDATE_UNAVAILABLE, "this server holds no releases (--firmware-dir)"),
    );
  }
  const who = identify(request, origin, device);
  if (who.by === "address") {
    return refuse(
      new WireError(Status.UPDATE_UNAVAILABLE, "code updates need a device id or a token"),
    );
  }
  // A chunk, or null for a report taken.
  const answer = request.command === Command.CODE_CHUNK
    ? updates.chunk(who.deviceId, request.chunk!)
    : updates.report(who.deviceId, request.update!, request.error ?? "");
  if (answer instanceof WireError) return refuse(answer);
  const reply: Reply = { command: request.command, requestId: request.requestId };
  if (answer) reply.chunk = answer;
  return finish(ctx, origin, request, reply, null, "", started, bytesIn, device, who);
}
