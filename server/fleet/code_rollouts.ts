/**
 * A rollout: one release offered to a cohort of devices at a pace. The cohort
 * is a share of the cohort hash's range (`cohort.ts`, the same function as
 * model canaries) or a list of device ids; the pace is at most `perMinute`
 * devices newly offered in any 60 seconds (ThingsBoard paces its OTA at about
 * 100 a minute). `running` offers, `paused` offers nobody new (downloads under
 * way go on), `stopped` is final: its chunks are no longer served.
 *
 * `parseCodeRolloutSpec` reads the body of `POST /v2/fleet/rollouts`.
 *
 * @example
 * ```ts
 * import { parseCodeRolloutSpec } from "./code_rollouts.ts";
 *
 * console.log(parseCodeRolloutSpec({ release: "mnist-device/1.0.1", share: 0.6 }, 100));
 * // { release: "mnist-device/1.0.1", share: 0.6, devices: null, perMinute: 100 }
 * ```
 * @module
 */
import { shown, Status, WireError } from "../../shared/errors.ts";
import { inCohort } from "./cohort.ts";
import { isDeviceName } from "../../shared/device_name.ts";
import type { Release } from "./releases.ts";

/** Where a rollout stands. */
export type CodeRolloutState = "running" | "paused" | "stopped";

/** What a rollout is asked to do. */
export interface CodeRolloutSpec {
  /** "NAME/VERSION". */
  release: string;
  /** A fraction 0..1 of the cohort range; null when `devices` names the devices. */
  share: number | null;
  devices: string[] | null;
  /** Devices newly offered in any 60 seconds, at most. */
  perMinute: number;
}

const MINUTE_MS = 60_000;
/** Devices whose cohort decision is remembered before the memo starts again. */
const COHORT_MEMO = 100_000;

/** One rollout; `FleetUpdates` moves its devices' states. */
export class CodeRollout {
  readonly id: string;
  readonly release: Release;
  readonly share: number | null;
  readonly devices: ReadonlySet<string> | null;
  readonly perMinute: number;
  readonly created: number;
  state: CodeRolloutState = "running";
  /** Why it was paused or stopped ("" while running). */
  reason = "";
  /** The devices it has offered the release to. */
  readonly members = new Set<string>();
  /** When each of the last minute's new offers was made, oldest first. */
  #offers: number[] = [];
  /** The cohort hash is a SHA-256: each device's answer is kept. */
  #cohort = new Map<string, boolean>();

  constructor(id: string, release: Release, spec: CodeRolloutSpec, now: number) {
    this.id = id;
    this.release = release;
    this.share = spec.share;
    this.devices = spec.devices ? new Set(spec.devices) : null;
    this.perMinute = spec.perMinute;
    this.created = now;
  }

  /** Whether the device is in this rollout's cohort. */
  includes(deviceId: string): boolean {
    if (this.devices) return this.devices.has(deviceId);
    let member = this.#cohort.get(deviceId);
    if (member === undefined) {
      if (this.#cohort.size >= COHORT_MEMO) this.#cohort.clear();
      member = inCohort(deviceId, this.share!);
      this.#cohort.set(deviceId, member);
    }
    return member;
  }

  /**
   * Lets go of what only offering needs, once the rollout is stopped (for
   * good): the cohort memo (up to 100,000 ids, about 8 MB) and the pace's
   * times. A stopped rollout stays listed, with its members, among the
   * newest `KEPT_STOPPED_ROLLOUTS` stopped ones (`updates.ts`).
   */
  stop(): void {
    this.state = "stopped";
    this.#cohort.clear();
    this.#offers = [];
  }

  /** Devices whose cohort decision is remembered (tests). */
  get remembered(): number {
    return this.#cohort.size;
  }

  /** Whether one more device may be offered now; if so, counts it. */
  takePace(now: number): boolean {
    while (this.#offers.length && now - this.#offers[0] >= MINUTE_MS) this.#offers.shift();
    if (this.#offers.length >= this.perMinute) return false;
    this.#offers.push(now);
    return true;
  }
}

/** Reads a rollout request's body; `perMinute` is the default pace. */
export function parseCodeRolloutSpec(
  body: unknown,
  perMinute: number,
): CodeRolloutSpec | WireError {
  const bad = (sentence: string) => new WireError(Status.MALFORMED_BUFFER, sentence);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return bad('the body must be a JSON object: {"release":"NAME/VERSION","share":0.6}');
  }
  const b = body as Record<string, unknown>;
  const known = ["release", "share", "devices", "per_minute"];
  const unknown = Object.keys(b).filter((k) => !known.includes(k));
  if (unknown.length) return bad(`unknown field ${shown(unknown[0])}`);
  if (typeof b.release !== "string" || !/^[^/]+\/[^/]+$/.test(b.release)) {
    return bad('"release" must be "NAME/VERSION"');
  }
  if ((b.share === undefined) === (b.devices === undefined)) {
    return bad('give exactly one of "share" (0..1) and "devices" (a list of device ids)');
  }
  if (b.share !== undefined) {
    if (typeof b.share !== "number" || !(b.share > 0 && b.share <= 1)) {
      return bad('"share" must be a number above 0 and at most 1');
    }
  }
  if (b.devices !== undefined) {
    // Ids a board can have: a server-made `addr:` id is never offered an update, and a board's
    // `device` field loses its trailing spaces (the firmware pads it), so such an id never matches.
    const ok = Array.isArray(b.devices) && b.devices.length > 0 && b.devices.length <= 100_000 &&
      b.devices.every((d) => typeof d === "string" && isDeviceName(d));
    if (!ok) {
      return bad(
        '"devices" must be a list of 1 to 100,000 device ids (strings), in a body of at most 1 MiB',
      );
    }
  }
  if (b.per_minute !== undefined) {
    const n = b.per_minute;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 1_000_000) {
      return bad('"per_minute" must be a whole number from 1 to 1,000,000');
    }
  }
  return {
    release: b.release,
    share: b.share === undefined ? null : b.share as number,
    devices: b.devices === undefined ? null : b.devices as string[],
    perMinute: (b.per_minute as number | undefined) ?? perMinute,
  };
}
