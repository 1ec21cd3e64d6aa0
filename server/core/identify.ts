/**
 * Who sent a request: the device's id in the fleet (a token's name, else the
 * board's `device` field, else `addr:<address>`) and its firmware, which a
 * connection's session remembers from its first request.
 *
 * @example
 * ```ts
 * import { identify } from "./identify.ts";
 *
 * const request = { command: 0, requestId: 1, digit: null, digitU8: null, token: "", model: "", client: "fw-3", device: "board-7" };
 * console.log(identify(request, { protocol: "framed", peer: "10.0.0.7:5123" }, null)); // { deviceId: "board-7", by: "device", firmware: "fw-3" }
 * ```
 * @module
 */
import { isDeviceName } from "../../shared/device_name.ts";
import { addressOf, type IdentifiedBy } from "../fleet/registry.ts";
import type { HandlerRequest, RequestOrigin } from "./request.ts";

/** Who sent a request, as the fleet knows it. */
export interface Identity {
  deviceId: string;
  by: IdentifiedBy;
  firmware: string;
}

/**
 * The device's id in the fleet (the token's name, else its `device` field,
 * else `addr:<address>`) and firmware. The firmware sends `device` and
 * `client` on a connection's first request only: the session keeps them.
 */
export function identify(
  request: HandlerRequest,
  origin: RequestOrigin,
  device: string | null,
): Identity {
  const session = origin.session;
  let deviceField = request.device;
  let firmware = request.client;
  if (session) {
    if (deviceField && isDeviceName(deviceField)) session.device = deviceField;
    else deviceField = session.device;
    if (firmware) session.client = firmware;
    else firmware = session.client;
  }
  if (device !== null) return { deviceId: device, by: "token", firmware };
  if (deviceField) return { deviceId: deviceField, by: "device", firmware };
  return { deviceId: "addr:" + addressOf(origin.peer), by: "address", firmware };
}
