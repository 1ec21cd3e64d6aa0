/**
 * What the monitor is told of each finished request (`Monitor.request`): the
 * figures metrics need, who sent it, and its digits with what the model said.
 *
 * @module
 */
import type { RequestFigures } from "../metrics/metrics.ts";
import type { IdentifiedBy } from "../fleet/device_view.ts";

/** One digit of a request, with what the model said. */
export interface DigitSeen {
  digitU8: ArrayLike<number> | null;
  digit: ArrayLike<number> | null;
  predicted: number;
  /** The predicted digit's score. */
  score: number;
}

/** One finished request: the figures metrics need, and who sent what. */
export interface RequestRecord extends RequestFigures {
  /** The client's `host:port` (its real address behind a trusted proxy). */
  peer: string;
  /** The device's name from the token file, when tokens are on. */
  device?: string | null;
  /** The device's id in the fleet (see `RequestEvent.deviceId`); absent: `addr:<address>`. */
  deviceId?: string;
  identifiedBy?: IdentifiedBy;
  /** Firmware name and version (`client` field), when the request or its connection had one. */
  client?: string | null;
  /** Why it failed, for the log (a sentence). */
  error?: string;
  /** Request id on the wire, or the HTTP request's `id`. */
  id?: string | number;
  /** Its digits with their predictions (the dashboard keeps the last few). */
  samples?: DigitSeen[];
}
