/**
 * Token checks for the HTTP port: with tokens on, infer and the dashboard
 * (and its JSON) need `Authorization: Bearer <token>`, the same tokens the
 * boards use; missing or wrong gets 401. Health probes and `/metrics` do not
 * call this.
 *
 * @example
 * ```ts ignore
 * import { authorizeHttp, unauthorizedResponse } from "./http.ts";
 *
 * Deno.serve((request, info) => {
 *   const verdict = authorizeHttp(auth, request.headers, info.remoteAddr.hostname);
 *   if (verdict instanceof WireError) return unauthorizedResponse(verdict);
 *   return new Response(`hello ${verdict.device ?? "anyone"}`);
 * });
 * ```
 * @module
 */
import { Command } from "../../shared/codec.ts";
import type { WireError } from "../../shared/errors.ts";
import type { Authorized, Authorizer } from "./authorize.ts";

/** The token of an `Authorization: Bearer <token>` header, or "" when there is none. */
export function bearerToken(headers: Headers): string {
  const value = headers.get("authorization");
  if (!value) return "";
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return match ? match[1] : "";
}

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
 * The 401 for a refused request: a `WWW-Authenticate: Bearer` challenge and
 * the error as JSON, `{"code": "UNAUTHORIZED", "status": 7, "error": "..."}`.
 */
export function unauthorizedResponse(error: WireError): Response {
  return Response.json(
    { code: error.code, status: error.status, error: error.message },
    {
      status: 401,
      headers: { "www-authenticate": 'Bearer realm="mnist"' },
    },
  );
}
