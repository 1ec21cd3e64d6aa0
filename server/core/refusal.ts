/**
 * A request refused before the handler decided on it: by its token alone,
 * before a transport reads its body (`tokenRefusal`), or by its transport or
 * decoder (`transportRefusal`: a frame that cannot be read, a body over the
 * limit). `RequestHandler.unauthorized` and `RequestHandler.refuse` call them.
 *
 * @example
 * ```ts
 * import { transportRefusal } from "./refusal.ts";
 * import { Status, WireError } from "../../shared/errors.ts";
 * import { Logger } from "../log.ts";
 *
 * const ctx = {
 *   route: () => new WireError(Status.MODEL_UNAVAILABLE, "no model is loaded"),
 *   stats: () => ({ version: 2, freq: 0, mode: 0, parameters: 0, served: 0, model: "", modelVersion: 0 }),
 *   log: new Logger("error"),
 * };
 * const error = new WireError(Status.FRAME_TOO_LARGE, "the frame is over 16384 bytes");
 * const outcome = transportRefusal(ctx, error, { protocol: "framed", peer: "10.0.0.7:5123" }, { requestId: 4 });
 * console.log(outcome.reply.requestId, outcome.reply.status); // 4 3
 * ```
 * @module
 */
import { Command } from "../../shared/codec.ts";
import { WireError } from "../../shared/errors.ts";
import { addressOf } from "../fleet/registry.ts";
import { refused, unproved } from "./outcome.ts";
import type { HandlerContext, HandlerRequest, Outcome, RequestOrigin } from "./request.ts";

/** What a transport read of a request it refused (`transportRefusal`). */
export interface RefusedRead {
  requestId?: number;
  /** When the request began (`performance.now()`); absent, now. */
  started?: number;
  bytesIn?: number;
  token?: string;
  model?: string;
  version?: number;
}

/**
 * The refusal `token` alone decides for a request from `origin`, else null.
 * The request is authorized as ever when it comes (this decision is not
 * counted); a token proved here is remembered for `origin.identity`.
 */
export function tokenRefusal(
  ctx: HandlerContext,
  token: string,
  origin: RequestOrigin,
): WireError | null {
  const auth = ctx.auth;
  if (!auth?.tokensOn) return null;
  const identity = origin.identity ??
    { address: addressOf(origin.peer), protocol: origin.protocol };
  const verdict = auth.check({ command: Command.INFERENCE_INPUT, token }, identity);
  return verdict instanceof WireError ? verdict : null;
}

/**
 * The error reply to a request its transport or decoder refused, logged and
 * observed: `read.requestId` (else 0), `read.token` (HTTP's bearer token: a
 * device it proves is who the refusal counts against), `read.model` and
 * `read.version` (HTTP's route: a model served counts it; absent, the
 * default one).
 */
export function transportRefusal(
  ctx: HandlerContext,
  error: WireError,
  origin: RequestOrigin,
  read: RefusedRead,
): Outcome {
  const request: HandlerRequest = {
    command: -1,
    requestId: read.requestId ?? 0,
    digit: null,
    digitU8: null,
    token: read.token ?? "",
    model: read.model ?? "",
    version: read.version,
    client: "",
    device: "",
  };
  const started = read.started ?? performance.now();
  const device = proved(ctx, request, origin);
  return refused(ctx, error, origin, request, started, read.bytesIn ?? 0, device);
}

/**
 * The device `request`'s token names, else `unproved(origin)`: looked up,
 * not authorized (the refusal is its answer; no decision is counted).
 */
function proved(
  ctx: HandlerContext,
  request: HandlerRequest,
  origin: RequestOrigin,
): string | null {
  const tokens = ctx.auth?.tokens;
  if (!tokens || !request.token) return unproved(ctx, origin);
  return tokens.lookup(request.token);
}
