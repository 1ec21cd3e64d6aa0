/**
 * The rules between the model options (repository, default model, admin
 * token, capture) that the option table in `server/config.ts` cannot state
 * row by row, and the capture settings they make. Their rows, defaults and
 * help live in that table.
 *
 * @example
 * ```ts
 * import { modelSettings } from "./model_flags.ts";
 *
 * // Values as server/config_resolve.ts resolves them, and the flags a user gave.
 * const settings = modelSettings(
 *   { defaultModel: "mnist", capture: "/tmp/capture", captureRule: "below:0.6", captureMaxMb: 100 },
 *   new Set(["capture", "capture-rule"]),
 * );
 * console.log(settings.capture?.rule); // { below: 0.6, disagree: false, sample: 0 }
 * ```
 * @module
 */
import { type CaptureRule, CaptureRuleError, parseCaptureRule } from "./capture/capture_rule.ts";

/** The model options as resolved (camel-cased, defaults applied). */
export interface ModelOptionValues {
  model?: string;
  defaultModel: string;
  adminToken?: string;
  capture?: string;
  captureRule: string;
  captureMaxMb: number;
}

/** Where `--capture` keeps digits, which ones, and how much disk at most. */
export interface CaptureSettings {
  dir: string;
  rule: CaptureRule;
  maxBytes: number;
}

/** The checked settings. */
export interface ModelSettings {
  capture: CaptureSettings | null;
}

/** Options that cannot be used together or as given; the message is one sentence. */
export class ModelSettingsError extends Error {
  override name = "ModelSettingsError";
}

/**
 * Checks the resolved options; `given` holds the flags a user set (by flag
 * or variable), since a default is never a conflict.
 */
export function modelSettings(
  values: ModelOptionValues,
  given: ReadonlySet<string>,
): ModelSettings {
  const fail = (message: string): never => {
    throw new ModelSettingsError(message);
  };
  if (values.model && given.has("model-repository")) {
    fail("--model FILE and --model-repository DIR exclude each other: give one");
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(values.defaultModel)) {
    fail(
      `--default-model must be a folder name of letters, digits, "_", "-" or ".", got "${values.defaultModel}"`,
    );
  }
  if (!values.capture && (given.has("capture-rule") || given.has("capture-max-mb"))) {
    fail("--capture-rule and --capture-max-mb need --capture DIR");
  }
  let rule: CaptureRule;
  try {
    rule = parseCaptureRule(values.captureRule);
  } catch (e) {
    if (e instanceof CaptureRuleError) fail(e.message);
    throw e;
  }
  return {
    capture: values.capture
      ? {
        dir: values.capture,
        rule,
        maxBytes: values.captureMaxMb * 1024 * 1024,
      }
      : null,
  };
}
