/**
 * How the HTTP port reads a request's path: the model routes'
 * pattern, and the one route a listener Worker reads itself before the main
 * thread answers, the inference (`inferRoute`), and a URL that cannot be
 * read (`unreadableUrl`). It lives apart from the routes (`http.ts`) so that
 * a Worker does not load them.
 *
 * @example
 * ```ts
 * import { inferRoute } from "./model_route.ts";
 *
 * console.log(inferRoute("POST", "http://x/v2/models/mnist/versions/2/infer/"));
 * // { name: "mnist", version: "2" }
 * console.log(inferRoute("GET", "http://x/v2/models/mnist")); // null
 * ```
 * @module
 */
import { Status, WireError } from "../../shared/errors.ts";

/** A path segment without its %-escapes (as it came, when they are malformed). */
export function safeDecode(segment: string): string {
  if (!segment.includes("%")) return segment; // the common name: nothing to decode
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** `/v2/models/{name}[/versions/{version}][/ready|/config|/infer|/stats]`. */
export const MODEL_ROUTE =
  /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/config|\/infer|\/stats)?$/;

/** A request's path as the routes match it: no trailing slashes. */
export function pathOf(url: URL): string {
  return url.pathname.replace(/\/+$/, "") || "/";
}

/**
 * Why a request's URL cannot be read (its `Host` header makes none: `x:99999`,
 * `a b`), or null when it can: such a request is refused as unreadable, in
 * process and through a listener Worker alike.
 */
export function unreadableUrl(url: string): WireError | null {
  if (URL.canParse(url)) return null;
  return new WireError(
    Status.MALFORMED_BUFFER,
    `the Host header and the path make no valid URL: ${JSON.stringify(url.slice(0, 200))}`,
  );
}

/**
 * The model and version a `POST /v2/models/{name}[/versions/{version}]/infer`
 * names, or null for any other request: what a listener Worker reads itself
 * before the main thread answers (`http_front.ts`).
 */
export function inferRoute(
  method: string,
  url: string,
): { name: string; version: string | undefined } | null {
  const parsed = method === "POST" ? URL.parse(url) : null;
  if (!parsed) return null;
  const model = MODEL_ROUTE.exec(pathOf(parsed));
  if (!model || model[3] !== "/infer") return null;
  return { name: safeDecode(model[1]), version: model[2] && safeDecode(model[2]) };
}
