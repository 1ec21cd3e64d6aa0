/**
 * The settings an update build (`--updates`, `--release`) refuses, each
 * with the sentence that says why: `buildFirmware` (`build.ts`) throws it
 * as a `SettingsError` before anything is built.
 *
 * @module
 */
import type { Settings } from "./settings.ts";

/** Why `--transport mqtt --updates` is refused. */
export const MQTT_UPDATES =
  "--updates is TCP only: the MQTT build has no updater (updates come over the inference connection)";

/**
 * Why an update build (`--updates`, `--release`) refuses `settings`, or "".
 * Its code goes to every board a rollout reaches, so it carries no secret:
 * the token goes to the board's Storage (`deno task flash --updates --token
 * T` writes it to `mnist.json`, as `setToken()` does), the WiFi is the one
 * the board saved (`Wifi.save()`). And it speaks framed only: offers ride
 * framed replies, never legacy ones.
 */
export function updateSettingsError(settings: Settings): string {
  if (settings.protocol === "mqtt") return MQTT_UPDATES;
  if (settings.protocol === "legacy") {
    return "--updates speaks framed only (offers never ride legacy replies): leave out --protocol legacy";
  }
  if (settings.ssid || settings.password) {
    return "--updates builds carry no WiFi credentials (a release goes to every board): " +
      'save them on the board once, require("Wifi").save()';
  }
  if (settings.token) {
    return "--updates builds carry no token (a release goes to every board): " +
      "deno task flash --updates --token T writes it to the board's Storage, or setToken() at its REPL";
  }
  return "";
}
