/**
 * The one rule for a device's name, wherever one is given: a board's `device`
 * field, a token file's name, an MQTT topic's id, a build's `--device`, a
 * code rollout's list. A name shows in logs, metrics and the dashboard, and
 * keys the fleet's rows; `addr:` ids are the fleet's own, for devices that
 * name none. No Deno or DOM API: the build tool and the server both use it.
 *
 * @example
 * ```ts
 * import { DEVICE_NAME_RULE, isDeviceName } from "./device_name.ts";
 *
 * console.log(isDeviceName("5ccf7f0a1b2c"), isDeviceName("kitchen.2")); // true true
 * console.log(isDeviceName("addr:10.0.0.7"), isDeviceName("my board")); // false false
 * console.log(`a device name must be ${DEVICE_NAME_RULE}`);
 * ```
 * @module
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** What a device's name may be, as every error about one says it. */
export const DEVICE_NAME_RULE =
  '1-64 letters, digits, ".", "_", ":" or "-", not starting with "addr:"';

/**
 * The longest `client` field (the firmware's name and version, as
 * `mnist-device 1.0.0+4a3225d2`): the fleet keeps it per device.
 */
export const MAX_CLIENT_LENGTH = 64;

/** Whether `name` may name a device. */
export function isDeviceName(name: string): boolean {
  return NAME.test(name) && !name.startsWith("addr:");
}
