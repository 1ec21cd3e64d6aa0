/**
 * One device's board code update: which rollout offered it which release,
 * where it stands (offered, downloading, verified, updated, failed, rolled
 * back), since when and the board's reason; and how the fleet views show
 * it, alone, counted over a rollout's devices, or over the fleet.
 * `FleetUpdates` (`updates.ts`) keeps them.
 *
 * @example
 * ```ts
 * import { UpdateState } from "../../shared/update_codec.ts";
 * import { inProgress, updateView } from "./_device_updates.ts";
 *
 * const u = { rollout: "r1", release: "mnist-device/1.0.1", state: UpdateState.OFFERED, reason: "", since: 0 };
 * console.log(inProgress(u.state), updateView(u).state); // true "offered"
 * ```
 * @module
 */
import { UPDATE_STATE_NAMES, UpdateState } from "../../shared/update_codec.ts";
import type { CodeRollout } from "./code_rollouts.ts";

/** One device's update: which rollout, where it stands, since when, and the board's reason. */
export interface DeviceUpdate {
  rollout: string;
  release: string;
  state: number;
  reason: string;
  since: number;
}

/** A device's update as the fleet views show it (JSON). */
export interface DeviceUpdateView {
  rollout: string;
  release: string;
  state: string;
  reason: string | null;
  since: string;
}

/** The states in which a device is still fetching or switching: offers repeat, chunks are served. */
export function inProgress(state: number): boolean {
  return state === UpdateState.OFFERED || state === UpdateState.DOWNLOADING ||
    state === UpdateState.VERIFIED;
}

/** The states in which a device's update ended badly: the board keeps its code. */
export function failed(state: number): boolean {
  return state === UpdateState.FAILED || state === UpdateState.ROLLED_BACK;
}

/** How many devices are in each update state (the `mnist_device_updates{state}` gauge). */
export function stateCounts(devices: ReadonlyMap<string, DeviceUpdate>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of UPDATE_STATE_NAMES.slice(1)) counts[name] = 0;
  for (const u of devices.values()) counts[UPDATE_STATE_NAMES[u.state]]++;
  return counts;
}

/** How many of the rollout's devices are in a state that passes `test`. */
export function countMembers(
  r: CodeRollout,
  updates: ReadonlyMap<string, DeviceUpdate>,
  test: (state: number) => boolean,
): number {
  let n = 0;
  for (const id of r.members) {
    const u = updates.get(id);
    if (u && u.rollout === r.id && test(u.state)) n++;
  }
  return n;
}

/** A rollout as the API shows it; with `devices`, each member's state. */
export function rolloutView(
  r: CodeRollout,
  updates: ReadonlyMap<string, DeviceUpdate>,
  devices: DeviceWindow | null,
): Record<string, unknown> {
  const counts: Record<string, number> = {};
  for (const name of UPDATE_STATE_NAMES.slice(1)) counts[name] = 0;
  const states: Record<string, DeviceUpdateView> = {};
  let n = 0;
  for (const id of r.members) {
    const u = updates.get(id);
    if (!u || u.rollout !== r.id) continue;
    counts[UPDATE_STATE_NAMES[u.state]]++;
    if (devices && n >= devices.offset && n - devices.offset < devices.limit) {
      states[id] = updateView(u);
    }
    n++;
  }
  return {
    id: r.id,
    release: r.release.id,
    share: r.share,
    devices: r.devices ? [...r.devices] : null,
    per_minute: r.perMinute,
    state: r.state,
    reason: r.reason || null,
    created: new Date(r.created).toISOString(),
    counts,
    ...(devices ? { device_states: states, device_total: n } : {}),
  };
}

/** Which of a rollout's devices a view lists: `limit` of them from the `offset`th, in the order they joined. */
export interface DeviceWindow {
  offset: number;
  limit: number;
}

/** A device's update as the fleet views show it. */
export function updateView(u: DeviceUpdate): DeviceUpdateView {
  return {
    rollout: u.rollout,
    release: u.release,
    state: UPDATE_STATE_NAMES[u.state],
    reason: u.reason || null,
    since: new Date(u.since).toISOString(),
  };
}
