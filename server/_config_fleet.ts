/**
 * The option table's rows of the "Fleet: devices" group: when devices show as silent or are forgotten, the registry's bound, and code rollouts.
 * `config.ts` assembles them with the other groups' rows into the one table.
 *
 * @module
 */
import type { OptionSpec } from "./config_spec.ts";

/** The "Fleet: devices" rows, in the order `--help` lists them. */
export const FLEET_OPTIONS = [
  {
    flag: "device-silent-after",
    kind: { type: "number", min: 0.01, max: 31_536_000 },
    group: "fleet",
    server: true,
    default: "600",
    value: "S",
    help: "a device with no request for S seconds shows as silent in the fleet views",
    details: "like ThingsBoard's inactivity timeout; `mnist_devices{state}` counts both states",
  },
  {
    flag: "device-forget-after",
    kind: { type: "number", min: 0.01, max: 315_360_000 },
    group: "fleet",
    server: true,
    default: "604800",
    value: "S",
    help: "a device with no request for S seconds (7 days) is forgotten",
  },
  {
    flag: "max-devices",
    kind: { type: "int", min: 1, max: 10_000_000 },
    group: "fleet",
    server: true,
    default: "100000",
    value: "N",
    help: "devices the fleet registry keeps; past it, the tenth heard from least recently go",
    details: "a bound on memory against clients that make up device ids (about 1 KB a device)",
  },
  {
    flag: "firmware-dir",
    kind: { type: "string" },
    group: "fleet",
    server: true,
    value: "DIR",
    help:
      "board code releases as DIR/NAME/VERSION/firmware.js and release.json, offered by rollouts",
    details:
      "`deno task build --release DIR` writes them, and the folder must exist at start; watched like the model repository; a release whose file does not match its release.json is refused and logged; unset: no code updates",
  },
  {
    flag: "rollout-max-failures",
    kind: { type: "int", min: 0, max: 1_000_000 },
    group: "fleet",
    server: true,
    default: "2",
    value: "N",
    help: "a code rollout pauses by itself when more than N of its devices fail or roll back",
  },
  {
    flag: "rollout-per-minute",
    kind: { type: "int", min: 1, max: 1_000_000 },
    group: "fleet",
    server: true,
    default: "100",
    value: "N",
    help: "a code rollout's pace when it names none: devices newly offered an update per minute",
    details: "like ThingsBoard's OTA pace; `POST /v2/fleet/rollouts` takes `per_minute`",
  },
] as const satisfies readonly OptionSpec[];
