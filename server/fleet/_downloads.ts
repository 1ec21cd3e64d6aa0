/**
 * A board's download of the release a rollout offered it (the offer is
 * `updates.ts`'s): the chunks it asks for, and its report of the outcome.
 *
 * - `serveChunk`: at most 512 bytes and their CRC-32, only to a device a
 *   rollout offered that release (`UPDATE_UNAVAILABLE` otherwise;
 *   `BAD_UPDATE` past the file's end). The first makes it `downloading`.
 * - `takeReport`: the board's outcome. When more than `maxFailures` devices
 *   of a rollout have failed or rolled back, the rollout pauses by itself.
 *
 * `FleetUpdates.chunk` and `FleetUpdates.report` call them with its book.
 *
 * @example
 * ```ts
 * import { FleetUpdates } from "./updates.ts";
 * import { ReleaseStore } from "./releases.ts";
 *
 * const updates = new FleetUpdates({ store: new ReleaseStore(null), maxFailures: 2, perMinute: 100 });
 * // No rollout offered this device anything: UPDATE_UNAVAILABLE.
 * console.log(String(updates.chunk("kitchen", { release: "mnist-device/1.0.1", offset: 0 })));
 * ```
 * @module
 */
import {
  CHUNK_BYTES,
  type CodeChunk,
  UPDATE_STATE_NAMES,
  type UpdateOffer,
  UpdateState,
} from "../../shared/update_codec.ts";
import { crc32 } from "../../shared/crc32.ts";
import { shown, Status, WireError } from "../../shared/errors.ts";
import type { Logger } from "../log.ts";
import type { CodeRollout } from "./code_rollouts.ts";
import { type DeviceUpdate, failed, inProgress } from "./_device_updates.ts";

/** What a download reads and changes of `FleetUpdates`. */
export interface DownloadBook {
  /** A device's update, if it has one. */
  device(deviceId: string): DeviceUpdate | undefined;
  /** A rollout by id, if it is kept. */
  rollout(id: string): CodeRollout | undefined;
  /** Moves the device's update to `state`, with the board's reason, as of now. */
  set(deviceId: string, u: DeviceUpdate, state: number, reason: string): void;
  /** How many of the rollout's devices are in a state that passes `test`. */
  count(r: CodeRollout, test: (state: number) => boolean): number;
  maxFailures(): number;
  /** Pauses the rollout, saying why (`FleetUpdates.change`). */
  pause(id: string, reason: string): void;
  log(): Logger | undefined;
}

/** The states a board may report. */
const REPORTED: readonly number[] = [
  UpdateState.DOWNLOADING,
  UpdateState.VERIFIED,
  UpdateState.UPDATED,
  UpdateState.FAILED,
  UpdateState.ROLLED_BACK,
];

/** A chunk of the release offered to this device. */
export function serveChunk(
  book: DownloadBook,
  deviceId: string,
  asked: CodeChunk,
): CodeChunk | WireError {
  const current = book.device(deviceId);
  const r = current && book.rollout(current.rollout);
  if (!current || !r || r.release.id !== asked.release || !inProgress(current.state)) {
    return new WireError(
      Status.UPDATE_UNAVAILABLE,
      `release ${shown(asked.release)} is not offered to device ${JSON.stringify(deviceId)}`,
    );
  }
  if (r.state === "stopped") {
    return new WireError(
      Status.UPDATE_UNAVAILABLE,
      `rollout ${r.id} of ${shown(asked.release)} was stopped: its chunks are no longer served`,
    );
  }
  const bytes = r.release.bytes;
  if (asked.offset >= bytes.length) {
    return new WireError(
      Status.BAD_UPDATE,
      `offset ${asked.offset} is beyond the release's ${bytes.length} bytes`,
    );
  }
  if (current.state === UpdateState.OFFERED) {
    book.set(deviceId, current, UpdateState.DOWNLOADING, "");
  }
  const data = bytes.subarray(asked.offset, asked.offset + CHUNK_BYTES);
  return { release: asked.release, offset: asked.offset, data, crc32: crc32(data) };
}

/** A board's report; pauses its rollout when too many have failed. */
export function takeReport(
  book: DownloadBook,
  deviceId: string,
  update: UpdateOffer,
  reason: string,
): WireError | null {
  const state = update.state ?? 0;
  if (!REPORTED.includes(state)) {
    return new WireError(Status.BAD_UPDATE, `state ${state} is not one a board reports`);
  }
  const current = book.device(deviceId);
  const r = current && book.rollout(current.rollout);
  // A stopped rollout still hears its devices' outcomes (a download it cut short fails on
  // the board): the views and mnist_device_updates then say where each device stands.
  if (!current || !r || r.release.id !== update.release) {
    return new WireError(
      Status.UPDATE_UNAVAILABLE,
      `release ${shown(update.release)} was not offered to device ${JSON.stringify(deviceId)}`,
    );
  }
  if (failed(current.state)) {
    // Its outcome is in: the same report again (its answer lost) changes nothing; another
    // cannot take it back. A rollout of another release offers the device one.
    if (state === current.state) return null;
    return new WireError(
      Status.UPDATE_UNAVAILABLE,
      `device ${JSON.stringify(deviceId)}'s update to ${shown(update.release)} ` +
        `ended ${UPDATE_STATE_NAMES[current.state]}: a rollout of another release offers it one`,
    );
  }
  const kept = failed(state) ? reason.slice(0, 200) : "";
  book.set(deviceId, current, state, kept);
  if (failed(state)) {
    book.log()?.warn("update failed on a device", {
      device: deviceId,
      release: r.release.id,
      state: UPDATE_STATE_NAMES[state],
      reason: kept,
    });
    const failures = book.count(r, failed);
    if (failures > book.maxFailures() && r.state === "running") {
      book.pause(
        r.id,
        `${failures} devices failed or rolled back, more than --rollout-max-failures ${book.maxFailures()}`,
      );
    }
  }
  return null;
}
