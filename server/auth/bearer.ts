/**
 * The one bearer parser and the one token comparison of the server: every
 * token (device, operator, admin, metrics) is read from `Authorization:
 * Bearer <token>` by `bearerToken` and compared by `sameToken`, whose time
 * depends only on the length of the token it expects, never on how much of a
 * guess was right.
 *
 * @example
 * ```ts
 * import { bearerToken, sameToken } from "./bearer.ts";
 *
 * const headers = new Headers({ authorization: "Bearer s3cret-operator-token" });
 * console.log(sameToken(bearerToken(headers), "s3cret-operator-token")); // true
 * console.log(sameToken(bearerToken(new Headers()), "s3cret-operator-token")); // false
 * ```
 * @module
 */

/** The token of an `Authorization: Bearer <token>` header, or "" when there is none. */
export function bearerToken(headers: Headers): string {
  const value = headers.get("authorization");
  if (!value) return "";
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return match ? match[1] : "";
}

/** A token as text, or as bytes (a digest). */
export type TokenLike = string | Uint8Array;

function unitAt(token: TokenLike, i: number): number {
  // Past the end: 0 (charCodeAt gives NaN, which `^` turns into 0 too; bytes give undefined).
  return typeof token === "string" ? token.charCodeAt(i) | 0 : token[i] | 0;
}

/**
 * Whether `given` is `expected`, in time that depends only on `expected`'s
 * length: every unit of `expected` is looked at, whatever `given` holds. An
 * empty `expected` matches nothing (an unset token opens nothing).
 */
export function sameToken(given: TokenLike, expected: TokenLike): boolean {
  if (expected.length === 0) return false;
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= unitAt(given, i) ^ unitAt(expected, i);
  return diff === 0;
}
