/**
 * How the HTTP port reads a request's path: the model routes'
 * pattern, and the one route a listener Worker reads itself before the main
 * thread answers, the inference (`inferRoute`). It lives apart from the
 * routes (`http.ts`) so that a Worker does not load them.
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
 * The model and version a `POST /v2/models/{name}[/versions/{version}]/infer`
 * names, or null for any other request: what a listener Worker reads itself
 * before the main thread answers (`http_front.ts`).
 */
export function inferRoute(
  method: string,
  url: string,
): { name: string; version: string | undefined } | null {
  if (method !== "POST") return null;
  const model = MODEL_ROUTE.exec(pathOf(new URL(url)));
  if (!model || model[3] !== "/infer") return null;
  return { name: safeDecode(model[1]), version: model[2] && safeDecode(model[2]) };
}
