/**
 * A device sighting as the fleet registry records one, for tests and benches
 * that fill a fleet without sending requests: a served digit from a board
 * named `id`, unless `more` says otherwise.
 *
 * @example
 * ```ts
 * import { sighting } from "./sighting.ts";
 * import { DeviceRegistry } from "../fleet/registry.ts";
 *
 * const fleet = new DeviceRegistry({ silentAfterMs: 60_000, forgetAfterMs: 3_600_000 });
 * fleet.record(sighting("board-7", { code: "SERVER_BUSY" }));
 * console.log(fleet.get("board-7")?.errors); // 1
 * ```
 * @module
 */
import type { DeviceSighting } from "../fleet/registry.ts";

/** A sighting of `id`: a framed board's served digit, with `more` over it. */
export function sighting(id: string, more: Partial<DeviceSighting> = {}): DeviceSighting {
  return {
    id,
    by: "device",
    peer: "10.0.0.7:5000",
    protocol: "framed",
    firmware: "",
    code: "OK",
    totalMs: 1,
    modelVersion: 1,
    predicted: 7,
    score: 0.9,
    ...more,
  };
}
