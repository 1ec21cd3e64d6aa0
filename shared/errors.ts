/**
 * The outcomes a request can have. One table serves the wire (the `status`
 * byte of a reply), the server's logs and the README, so a code read in any
 * of them means the same thing.
 *
 * Written in the subset the Espruino interpreter runs: the firmware bundles
 * this file.
 *
 * @example
 * ```ts
 * import { Status, WireError } from "./errors.ts";
 *
 * const error = new WireError(Status.BAD_DIGIT_LENGTH, "digit has 10 values, expected 784");
 * console.log(error.code, error.status, error.message); // "BAD_DIGIT_LENGTH" 2 "digit has ..."
 * ```
 * @module
 */

/** Status codes, as in the schema's `Status` enum. */
export const Status = {
  OK: 0,
  UNKNOWN_COMMAND: 1,
  BAD_DIGIT_LENGTH: 2,
  FRAME_TOO_LARGE: 3,
  MALFORMED_BUFFER: 4,
  SERVER_BUSY: 5,
  INTERNAL_ERROR: 6,
  UNAUTHORIZED: 7,
  MODEL_UNAVAILABLE: 8,
  UPDATE_UNAVAILABLE: 9,
  BAD_UPDATE: 10,
} as const;

/**
 * Names of the status codes in one string, in order: what a board keeps (one
 * string costs it fewer variables than an array of seven). The firmware's
 * build puts this string in; it prints a code past its end as a number.
 */
export const STATUS_NAME_LIST =
  "OK UNKNOWN_COMMAND BAD_DIGIT_LENGTH FRAME_TOO_LARGE MALFORMED_BUFFER SERVER_BUSY INTERNAL_ERROR UNAUTHORIZED MODEL_UNAVAILABLE";

/**
 * The code update statuses' names (9, 10), after `STATUS_NAME_LIST`: kept
 * apart while the firmware's 6 KB bundle has no room for them.
 */
export const UPDATE_STATUS_NAME_LIST = "UPDATE_UNAVAILABLE BAD_UPDATE";

/** Names of the status codes, indexed by their number. */
// Marked pure so a bundle that needs only the string (the firmware) leaves the array out.
export const STATUS_NAMES = /* @__PURE__ */ (STATUS_NAME_LIST + " " + UPDATE_STATUS_NAME_LIST)
  .split(" ");

/** The name of a status number, or `STATUS_<n>` for one this build does not know. */
export function statusName(status: number): string {
  return STATUS_NAMES[status] || "STATUS_" + status;
}

/** An error as a value: a status number, its name and a sentence for people. */
export class WireError {
  status: number;
  code: string;
  message: string;
  constructor(status: number, message: string) {
    this.status = status;
    this.code = statusName(status);
    this.message = message;
  }
  toString(): string {
    return this.code + ": " + this.message;
  }
}

/**
 * A value a client sent, as an error sentence shows it: its JSON (a number as
 * written, `Infinity` too), cut to 40 characters, so that no sentence carries
 * a client's megabyte back to it or into the log.
 */
export function shown(value: unknown): string {
  let text = typeof value === "number" ? String(value) : JSON.stringify(value);
  if (text === undefined) text = String(value);
  return cut(text);
}

/** Text a client sent that reads as it is (a path, a method), cut to 40 characters as `shown`'s. */
export function cut(text: string): string {
  return text.length > 40 ? text.slice(0, 40) + "..." : text;
}
