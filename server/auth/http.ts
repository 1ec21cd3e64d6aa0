/**
 * Device tokens on the HTTP port: with tokens on, infer needs
 * `Authorization: Bearer <token>`, the same tokens the boards use; missing or
 * wrong gets 401. Operator views, changes and `/metrics` are `Access`'s
 * (./access.ts), never a device token's.
 *
 * @example
 * ```ts
 * import { WireError } from "../../shared/errors.ts";
 * import { Authorizer } from "./authorize.ts";
 * import { authorizeHttp, unauthorizedResponse } from "./http.ts";
 *
 * const auth = new Authorizer();
 * const verdict = authorizeHttp(auth, new Headers(), "10.0.0.7");
 * const response = verdict instanceof WireError
 *   ? unauthorizedResponse(verdict)
 *   : new Response(`hello ${verdict.device ?? "anyone"}`);
 * console.log(response.status); // 200: tokens are off
 * ```
 * @module
 */
import { Command } from "../../shared/codec.ts";
import type { WireError } from "../../shared/errors.ts";
import { AccessDenied, deniedResponse } from "./access.ts";
import type { Authorized, Authorizer } from "./authorize.ts";
import { bearerToken } from "./bearer.ts";

/**
 * The device an HTTP request comes from (null when tokens are off), or an
 * `UNAUTHORIZED` error. `address` is the client's real address.
 */
export function authorizeHttp(
  auth: Authorizer,
  headers: Headers,
  address: string,
): Authorized | WireError {
  return auth.authorize(
    { command: Command.INFERENCE_INPUT, token: bearerToken(headers) },
    { address, protocol: "http" },
  );
}

/**
 * The 401 for a refused device: a `WWW-Authenticate: Bearer` challenge and
 * `{"error": "UNAUTHORIZED: sentence"}`, the body of every refusal.
 */
export function unauthorizedResponse(error: WireError): Response {
  return deniedResponse(new AccessDenied(401, error.message));
}
