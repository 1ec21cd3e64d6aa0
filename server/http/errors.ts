/**
 * Errors on the HTTP port: the wire's code and sentence as
 * `{"error": "CODE: sentence"}`, with the HTTP status each code maps to
 * (400 bad input, 401 no or wrong token, 404 unknown model, route or
 * release, 409 a change a rollout's state forbids, 413 a body over the
 * limit, 503 a full queue, 500 the engine failed), as `docs/protocol.md`'s
 * table of error codes gives them; the same body whatever route or check
 * refused.
 *
 * @example
 * ```ts
 * import { errorResponse } from "./errors.ts";
 * import { Status, WireError } from "../../shared/errors.ts";
 *
 * const response = errorResponse(new WireError(Status.SERVER_BUSY, "the queue is full"));
 * console.log(response.status, await response.text()); // 503 {"error":"SERVER_BUSY: the queue is full"}
 * ```
 * @module
 */
import { Status, WireError } from "../../shared/errors.ts";
import type { Logger } from "../log.ts";

/** The HTTP status for a wire error. */
export function httpStatusOf(error: WireError): number {
  switch (error.status) {
    case Status.SERVER_BUSY:
      return 503;
    case Status.FRAME_TOO_LARGE:
      return 413;
    case Status.UNKNOWN_COMMAND:
    case Status.MODEL_UNAVAILABLE:
    case Status.UPDATE_UNAVAILABLE:
      return 404;
    case Status.BAD_UPDATE:
      return 409;
    case Status.UNAUTHORIZED:
      return 401;
    case Status.INTERNAL_ERROR:
      return 500;
    default:
      return 400;
  }
}

/** The headers of an error response: JSON, and the bearer challenge with a 401. */
export function errorHeaders(httpStatus: number): Record<string, string> {
  return httpStatus === 401
    ? { "content-type": "application/json", "www-authenticate": 'Bearer realm="mnist"' }
    : { "content-type": "application/json" };
}

/** The body of an error: `{"error":"CODE: sentence"}`. */
export function errorBody(error: WireError): string {
  return JSON.stringify({ error: error.toString() });
}

/** An error as a response; `httpStatus` defaults to the code's (`httpStatusOf`). */
export function errorResponse(
  error: WireError,
  httpStatus = httpStatusOf(error),
  headers: Record<string, string> = {},
): Response {
  return new Response(errorBody(error), {
    status: httpStatus,
    headers: { ...errorHeaders(httpStatus), ...headers },
  });
}

/**
 * The answer to a request whose handling threw: logged for the operator, a
 * 500 without the details for the client (the same whichever thread took it).
 */
export function handlerFailed(log: Logger | null, error: unknown): Response {
  log?.error("http handler failed", { error: (error as Error).message });
  return errorResponse(new WireError(Status.INTERNAL_ERROR, "the request could not be handled"));
}
