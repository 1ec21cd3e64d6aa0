/**
 * Per-device activity for the dashboard and its JSON: requests served per
 * device, when and from where each was last seen, and refusals by protocol.
 * Kept here, fed by the `Authorizer`'s decisions, because fleets are large:
 * no metric label carries a device name.
 *
 * @example
 * ```ts ignore
 * import { DeviceActivity } from "./devices.ts";
 *
 * const activity = new DeviceActivity(auth);
 * // ... later, in the dashboard's JSON route:
 * const body = { devices: activity.devices(), refused: activity.refused };
 * activity.close();
 * ```
 * @module
 */
import type { AuthDecision, Authorizer } from "./authorize.ts";

/** One device's figures. */
export interface DeviceFigures {
  name: string;
  /** Requests authorized with its token. */
  requests: number;
  /** When it was last authorized (ms since the epoch). */
  lastSeen: number;
  /** The address it was last authorized from. */
  lastAddress: string;
}

/** Counts every authorized request per device, and refusals per protocol. */
export class DeviceActivity {
  #devices = new Map<string, DeviceFigures>();
  #stop: () => void;
  /** Refused requests by protocol ("framed", "legacy", "http"). */
  readonly refused: Record<string, number> = { framed: 0, legacy: 0, http: 0 };

  constructor(auth: Authorizer, now: () => number = Date.now) {
    this.#stop = auth.onDecision((d: AuthDecision) => {
      if (d.code !== "OK") {
        this.refused[d.peer.protocol]++;
        return;
      }
      if (d.device === null) return;
      let figures = this.#devices.get(d.device);
      if (!figures) {
        figures = { name: d.device, requests: 0, lastSeen: 0, lastAddress: "" };
        this.#devices.set(d.device, figures);
      }
      figures.requests++;
      figures.lastSeen = now();
      figures.lastAddress = d.peer.address;
    });
  }

  /** Every device seen so far, most requests first. */
  devices(): DeviceFigures[] {
    return [...this.#devices.values()].map((f) => ({ ...f }))
      .sort((a, b) => b.requests - a.requests || a.name.localeCompare(b.name));
  }

  /** Stops counting. */
  close(): void {
    this.#stop();
  }
}
