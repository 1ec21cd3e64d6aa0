/**
 * Who sent a request: the device's id in the fleet (a token's name, else the
 * board's `device` field, else `addr:<address>`) and its firmware, which a
 * connection's session remembers from its first request; and whether the
 * fields it names itself by may be kept (`namingError`).
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
import { DEVICE_NAME_RULE, isDeviceName, MAX_CLIENT_LENGTH } from "../../shared/device_name.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { addressOf } from "../fleet/registry.ts";
import type { IdentifiedBy } from "../fleet/device_view.ts";
import type { ConnectionSession, HandlerRequest, RequestOrigin } from "./request.ts";

/** Who sent a request, as the fleet knows it. */
export interface Identity {
  deviceId: string;
  by: IdentifiedBy;
  firmware: string;
}

/**
 * Keeps the `device` and `client` fields `request` sends for the rest of its
 * connection (the firmware sends them on its first request only): called as
 * a request arrives, so a request pipelined behind the first is known by them.
 */
export function remember(request: HandlerRequest, session: ConnectionSession): void {
  if (request.device && isDeviceName(request.device)) session.device = request.device;
  if (request.client) session.client = request.client;
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
    remember(request, session);
    deviceField = session.device;
    firmware = session.client;
  }
  if (device !== null) return { deviceId: device, by: "token", firmware };
  if (deviceField) return { deviceId: deviceField, by: "device", firmware };
  return { deviceId: "addr:" + addressOf(origin.peer), by: "address", firmware };
}

/**
 * What is wrong with the fields a board names itself by (`device`, `client`),
 * or null; a wrong one is blanked, so that nothing keeps it (a connection's
 * session, the fleet: a 15,000-character `client` per made-up device held
 * gigabytes). The firmware pads its serial with spaces to the token's 32
 * characters: `device` is trimmed.
 */
export function namingError(request: HandlerRequest): WireError | null {
  if (request.device) request.device = request.device.trimEnd();
  if (request.device && !isDeviceName(request.device)) {
    request.device = "";
    return new WireError(Status.MALFORMED_BUFFER, `the device field must be ${DEVICE_NAME_RULE}`);
  }
  if (request.client.length > MAX_CLIENT_LENGTH) {
    request.client = "";
    return new WireError(
      Status.MALFORMED_BUFFER,
      `the client field must be at most ${MAX_CLIENT_LENGTH} characters`,
    );
  }
  return null;
}
