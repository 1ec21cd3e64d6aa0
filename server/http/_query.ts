/**
 * Reading a route's query parameters: a whole number (`?limit=`, `?offset=`)
 * or a clear `MALFORMED_BUFFER` naming the parameter, for the fleet's and the
 * rollouts' routes alike.
 *
 * @module
 */
import { shown, Status, WireError } from "../../shared/errors.ts";

/** Query parameter `name` as a whole number 0 or more, `absent` without it. */
export function wholeNumber(
  query: URLSearchParams,
  name: string,
  absent: number,
): number | WireError {
  const text = query.get(name);
  if (text === null) return absent;
  if (/^\d{1,15}$/.test(text)) return Number(text);
  return new WireError(
    Status.MALFORMED_BUFFER,
    `${name} must be a whole number, 0 or more, not ${shown(text)}`,
  );
}
