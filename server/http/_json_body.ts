/**
 * The small JSON bodies of the admin routes (the model repository's and the
 * model rollouts'): read whole under a size limit, an object or nothing, and
 * refused when they carry a field the route does not take.
 *
 * @module
 */
import { shown, Status, WireError } from "../../shared/errors.ts";
import { type BodyReading, readBody } from "./body.ts";
import { errorResponse } from "./errors.ts";

/** Largest request body the routes read (Triton's bodies here are a few small fields). */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads a small optional JSON object body, limited while it is read and
 * as `reading` says (its deadline and budget); a Response when it is not one.
 */
export async function readJsonObject(
  request: Request,
  reading?: BodyReading,
): Promise<Record<string, unknown> | Response> {
  const bytes = await readBody(request, MAX_BODY_BYTES, reading);
  if (bytes instanceof WireError) return errorResponse(bytes);
  if (bytes.length === 0) return {};
  try {
    const body = JSON.parse(new TextDecoder().decode(bytes));
    if (body && typeof body === "object" && !Array.isArray(body)) return body;
  } catch {
    // Answered below.
  }
  return errorResponse(
    new WireError(Status.MALFORMED_BUFFER, "the body must be a JSON object (or empty)"),
    400,
  );
}

/**
 * Why `body` does not suit a route that takes the fields `known`: its first
 * other field; null when it has none. A misspelt field is refused, not
 * ignored: `{"reddy":true}` would otherwise list every model, not the ready ones.
 */
export function unknownField(
  body: Record<string, unknown>,
  known: readonly string[],
  what = "field",
): WireError | null {
  const other = Object.keys(body).find((key) => !known.includes(key));
  if (other === undefined) return null;
  const takes = known.length === 0
    ? `this route takes no ${what}s`
    : `this route takes ${known.map((k) => JSON.stringify(k)).join(", ")}`;
  return new WireError(
    Status.MALFORMED_BUFFER,
    `unknown ${what} ${shown(other)}: ${takes}`,
  );
}
