/**
 * The flags of `bench:stress` (`stress_args.ts`) that need more than a
 * number or a choice: `--mqtt` checked as the server checks it, `--json` and
 * `--report` refused when they could not be written, `--server-cpus` as a
 * taskset CPU list. Each throws a `UsageError` of one sentence.
 *
 * @module
 */
import { checkOutputPath, UsageError } from "../cli/args.ts";
import { mqttSettings, MqttSettingsError } from "../server/mqtt/settings.ts";
import { tableDefault } from "../server/config.ts";

/** `--mqtt URL`, checked as the server checks it, so a mistake is one sentence before any start. */
export function mqttFlag(text: string | undefined): string | null {
  if (text === undefined) return null;
  try {
    mqttSettings({ mqtt: text, mqttGroup: tableDefault("mqtt-group") }, new Set(["mqtt"]));
  } catch (e) {
    if (e instanceof MqttSettingsError) throw new UsageError(e.message);
    throw e;
  }
  return text;
}

/** A file the results are written to: refused before the bench runs when it could not be written. */
export function outputFlag(name: string, text: string | undefined): string | null {
  if (text === undefined) return null;
  checkOutputPath(`--${name}`, text);
  return text;
}

/** `--server-cpus`: a taskset CPU list (`0`, `0,1`, `2-3`), or null when not given. */
export function cpuListFlag(text: string | undefined): string | null {
  if (text === undefined) return null;
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(text)) {
    throw new UsageError(`--server-cpus must be a CPU list such as 0 or 0,1 or 2-3, got "${text}"`);
  }
  return text;
}
