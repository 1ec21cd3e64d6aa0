/**
 * The cohort of a device: a stable number 0..9,999 from its id, the first 4
 * bytes of the id's SHA-256 (UTF-8) as a big-endian integer modulo 10,000. A
 * device is in a cohort of share S (a fraction 0..1) when its number is below
 * S × 10,000. Code rollouts and model canaries use this one function, so a
 * person can work out which boards a "10%" reaches (`sha256sum` is enough).
 *
 * @example
 * ```ts
 * import { cohortOf, inCohort } from "./cohort.ts";
 *
 * console.log(cohortOf("kitchen")); // the same number on every server, every run
 * console.log(inCohort("kitchen", 1), inCohort("kitchen", 0)); // true false
 * ```
 * @module
 */
import { createHash } from "node:crypto";

/** How many cohort numbers there are: shares are counted in ten-thousandths. */
export const COHORTS = 10_000;

/** The device's cohort number, 0..9,999. */
export function cohortOf(deviceId: string): number {
  const digest = createHash("sha256").update(deviceId, "utf8").digest();
  return digest.readUInt32BE(0) % COHORTS;
}

/**
 * Whether the device is in a cohort of `share` (0..1) of the fleet: its
 * number below `share` × 10,000, as real numbers. Compared as a fraction,
 * not as a product: `0.07 * 10_000` is 700.0000000000001 in floating point,
 * which would take in the devices numbered 700 too (as it would for 576 of
 * the 10,000 shares a ten-thousandth apart); `n / 10_000` is the double
 * nearest n ten-thousandths, as `share` is the double nearest the share
 * asked for, so the two are equal exactly when the real numbers are.
 */
export function inCohort(deviceId: string, share: number): boolean {
  return cohortOf(deviceId) / COHORTS < share;
}
