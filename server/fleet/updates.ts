/**
 * Board code updates: the rollouts, and each device's update state (offered,
 * downloading, verified, updated, failed, rolled back, with the board's
 * reason). The one request path calls it three ways:
 *
 * - `offer(device, firmware, token)` on every framed or MQTT inference reply:
 *   an offer when the device is in a running rollout's cohort, runs that
 *   release's NAME at another version, and the pace allows (offers already
 *   made are repeated until the device moves on). A device that comes back
 *   running the release's version is `updated`.
 * - `chunk(device, {release, offset})` and `report(device, {release, state},
 *   reason)`: the board's download of the offered release, and its outcome
 *   (`_downloads.ts`); too many failures pause the rollout by itself.
 *
 * Rollouts live in memory: a restart forgets them (releases stay on disk).
 *
 * @example
 * ```ts
 * import { FleetUpdates } from "./updates.ts";
 * import { ReleaseStore } from "./releases.ts";
 *
 * const updates = new FleetUpdates({ store: new ReleaseStore(null), maxFailures: 2, perMinute: 100 });
 * console.log(updates.offer("kitchen", "mnist-device 1.0.0", "")); // null: no rollout runs
 * const started = updates.start({ release: "mnist-device/1.0.1", share: 1, devices: null, perMinute: 10 });
 * console.log(String(started)); // "UPDATE_UNAVAILABLE: no release ...": the store holds none
 * ```
 * @module
 */
import { type CodeChunk, type UpdateOffer, UpdateState } from "../../shared/update_codec.ts";
import { shown, Status, WireError } from "../../shared/errors.ts";
import type { Logger } from "../log.ts";
import { releaseMac, type ReleaseStore, splitFirmware } from "./releases.ts";
import { CodeRollout, type CodeRolloutSpec } from "./code_rollouts.ts";
import {
  countMembers,
  type DeviceUpdate,
  type DeviceUpdateView,
  failed,
  inProgress,
  rolloutView,
  stateCounts,
  updateView,
} from "./_device_updates.ts";
import { type DownloadBook, serveChunk, takeReport } from "./_downloads.ts";

/**
 * Stopped rollouts kept for their views, newest first: older ones go, with
 * their members and the release bytes they hold (a pipeline that starts a
 * rollout per build would otherwise grow the server for good).
 */
export const KEPT_STOPPED_ROLLOUTS = 100;

/** The rollouts and every device's update state; see the module doc. */
export class FleetUpdates {
  readonly store: ReleaseStore;
  readonly maxFailures: number;
  /** The pace of a rollout that names none. */
  readonly perMinute: number;
  #rollouts = new Map<string, CodeRollout>();
  #devices = new Map<string, DeviceUpdate>();
  #running: CodeRollout[] = [];
  #nextId = 1;
  /**
   * Whether the fleet registry counts this device as forgotten (quiet past
   * `--device-forget-after`) though its sweep has not yet run; unset: never.
   */
  forgotten: ((id: string) => boolean) | null = null;
  #log: Logger | undefined;
  #now: () => number;

  constructor(
    options: {
      store: ReleaseStore;
      maxFailures: number;
      perMinute: number;
      log?: Logger;
      now?: () => number;
    },
  ) {
    this.store = options.store;
    this.maxFailures = options.maxFailures;
    this.perMinute = options.perMinute;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  /** Starts a rollout; `UPDATE_UNAVAILABLE` for an unknown release, `BAD_UPDATE` while another of its NAME is open. */
  start(spec: CodeRolloutSpec): CodeRollout | WireError {
    const release = this.store.get(spec.release);
    if (!release) {
      return new WireError(
        Status.UPDATE_UNAVAILABLE,
        `no release ${shown(spec.release)} (GET /v2/fleet/releases lists them)`,
      );
    }
    for (const r of this.#rollouts.values()) {
      if (r.state !== "stopped" && r.release.name === release.name) {
        return new WireError(
          Status.BAD_UPDATE,
          `rollout ${r.id} of ${r.release.id} is ${r.state}; stop it before another of ${release.name}`,
        );
      }
    }
    const rollout = new CodeRollout(`r${this.#nextId++}`, release, spec, this.#now());
    this.#rollouts.set(rollout.id, rollout);
    this.#setRunning();
    const carried = this.#carryOver(rollout);
    this.#log?.info("rollout started", {
      rollout: rollout.id,
      release: release.id,
      ...(carried ? { downloads_carried_over: carried } : {}),
    });
    return rollout;
  }

  /**
   * Widening a rollout is stopping it and starting another of the same
   * release with a larger share: the devices of its cohort that a stopped
   * rollout left under way with that release (offered, downloading,
   * verified) go on under the new one, without counting against its pace,
   * instead of having their chunks refused (a board whose download fails
   * never fetches that release again). Returns how many.
   */
  #carryOver(rollout: CodeRollout): number {
    let carried = 0;
    for (const [id, u] of this.#devices) {
      if (u.release !== rollout.release.id || !inProgress(u.state)) continue;
      if (this.#rollouts.get(u.rollout)?.state !== "stopped" || !rollout.includes(id)) continue;
      this.#devices.set(id, { ...u, rollout: rollout.id });
      rollout.members.add(id);
      carried++;
    }
    return carried;
  }

  /** A rollout by id, or null. */
  get(id: string): CodeRollout | null {
    return this.#rollouts.get(id) ?? null;
  }

  /** Every rollout, oldest first. */
  list(): CodeRollout[] {
    return [...this.#rollouts.values()];
  }

  /** Pauses, resumes or stops a rollout; a stopped one stays stopped (`BAD_UPDATE`). */
  change(id: string, to: "pause" | "resume" | "stop", reason = ""): CodeRollout | WireError {
    const r = this.#rollouts.get(id);
    if (!r) return new WireError(Status.UPDATE_UNAVAILABLE, `no rollout ${shown(id)}`);
    if (r.state === "stopped") {
      return new WireError(Status.BAD_UPDATE, `rollout ${id} is stopped; start a new one`);
    }
    if (to === "stop") r.stop();
    else r.state = to === "pause" ? "paused" : "running";
    r.reason = to === "resume"
      ? ""
      : reason || `${to === "pause" ? "paused" : "stopped"} by the API`;
    this.#setRunning();
    // A pause the rollout made itself (its failures) is a warning; the API's changes are news.
    const fields = { rollout: id, release: r.release.id, reason: r.reason };
    if (reason) this.#log?.warn(`rollout ${r.state}`, fields);
    else this.#log?.info(`rollout ${r.state}`, fields);
    if (to === "stop") this.#forgetOldStopped();
    return r;
  }

  /** Keeps the newest `KEPT_STOPPED_ROLLOUTS` stopped rollouts (a map keeps them oldest first). */
  #forgetOldStopped(): void {
    let stopped = 0;
    for (const r of this.#rollouts.values()) if (r.state === "stopped") stopped++;
    for (const r of this.#rollouts.values()) {
      if (stopped <= KEPT_STOPPED_ROLLOUTS) return;
      if (r.state !== "stopped") continue;
      this.#rollouts.delete(r.id);
      // Its devices' states go with it: none would name a rollout the views no longer know.
      for (const id of r.members) {
        if (this.#devices.get(id)?.rollout === r.id) this.#devices.delete(id);
      }
      stopped--;
    }
  }

  /** The update to offer in an inference reply to this device, or null. */
  offer(deviceId: string, firmware: string, token: string): UpdateOffer | null {
    if (!firmware || (this.#running.length === 0 && this.#devices.size === 0)) return null;
    const { name, version } = splitFirmware(firmware);
    let current = this.#devices.get(deviceId);
    // Back after the forget period, before the registry swept it: its update goes as it would
    // have (the offer below is then as to a device never seen), not kept for good.
    if (current && this.forgotten?.(deviceId)) {
      this.forget(deviceId);
      current = undefined;
    }
    const mine = current && this.#rollouts.get(current.rollout);
    if (current && mine && inProgress(current.state) && mine.release.name === name) {
      if (mine.release.version === version) {
        this.#set(deviceId, current, UpdateState.UPDATED, "");
        return null;
      }
      // Stopped: a newer rollout of the same NAME may offer it below.
      if (mine.state !== "stopped") return mine.state === "running" ? offerOf(mine, token) : null;
    }
    for (const r of this.#running) {
      if (r.release.name !== name || r.release.version === version) continue;
      // Failed, rolled back or updated once: this rollout does not ask again.
      if (current?.rollout === r.id || !r.includes(deviceId)) continue;
      // Nor does another of the release that failed or rolled back on it: the board never
      // fetches again the last release it fetched, so the offer would sit "offered" for good
      // and take a place in the pace (a widened rollout offered each of its failures again).
      if (current && failed(current.state) && current.release === r.release.id) continue;
      if (!r.takePace(this.#now())) return null;
      r.members.add(deviceId);
      this.#devices.set(deviceId, {
        rollout: r.id,
        release: r.release.id,
        state: UpdateState.OFFERED,
        reason: "",
        since: this.#now(),
      });
      return offerOf(r, token);
    }
    return null;
  }

  /** A chunk of the release offered to this device (`_downloads.ts`). */
  chunk(deviceId: string, asked: CodeChunk): CodeChunk | WireError {
    return serveChunk(this.#book, deviceId, asked);
  }

  /** A board's report; pauses its rollout when too many have failed (`_downloads.ts`). */
  report(deviceId: string, update: UpdateOffer, reason: string): WireError | null {
    return takeReport(this.#book, deviceId, update, reason);
  }

  /** What `_downloads.ts` may read and change. */
  readonly #book: DownloadBook = {
    device: (id) => this.#devices.get(id),
    rollout: (id) => this.#rollouts.get(id),
    set: (id, u, state, reason) => this.#set(id, u, state, reason),
    count: (r, test) => countMembers(r, this.#devices, test),
    maxFailures: () => this.maxFailures,
    pause: (id, reason) => void this.change(id, "pause", reason),
    log: () => this.#log,
  };

  /**
   * Forgets a device's update (the fleet registry forgot the device): a
   * rollout still running may offer it again, as to a device never seen.
   */
  forget(deviceId: string): void {
    if (!this.#devices.delete(deviceId)) return;
    for (const r of this.#rollouts.values()) r.members.delete(deviceId);
  }

  /** A device's update, as the fleet views show it; null when it never had one. */
  deviceView(deviceId: string): DeviceUpdateView | null {
    const u = this.#devices.get(deviceId);
    return u ? updateView(u) : null;
  }

  /** How many devices are in each update state (the `mnist_device_updates{state}` gauge). */
  counts(): Record<string, number> {
    return stateCounts(this.#devices);
  }

  /**
   * A rollout as the API shows it; with `devices`, the states of that window
   * of its members (`device_states`) and how many it has (`device_total`).
   */
  view(r: CodeRollout, devices: { offset: number; limit: number } | null): Record<string, unknown> {
    return rolloutView(r, this.#devices, devices);
  }

  #set(deviceId: string, u: DeviceUpdate, state: number, reason: string): void {
    this.#devices.set(deviceId, { ...u, state, reason, since: this.#now() });
  }

  #setRunning(): void {
    this.#running = this.list().filter((r) => r.state === "running");
  }
}

function offerOf(r: CodeRollout, token: string): UpdateOffer {
  const release = r.release;
  return {
    release: release.id,
    size: release.size,
    crc32: release.crc32,
    mac: token ? releaseMac(release, token) : null,
  };
}
