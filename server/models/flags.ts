/**
 * The serve flags of the model repository, capture and repository routes:
 * their `parseArgs` options, their help lines, and one function that checks
 * them (flag first, then its `MNIST_*` environment variable) and returns
 * typed settings, or throws a `FlagError` whose message is one sentence for
 * stderr.
 *
 * @example
 * ```ts
 * import { parseArgs } from "node:util";
 * import { MODEL_FLAGS, MODEL_USAGE, modelSettings } from "./flags.ts";
 *
 * const { values } = parseArgs({ args: ["--poll-seconds", "30"], options: { ...MODEL_FLAGS } });
 * const settings = modelSettings(values, (name) => Deno.env.get(name));
 * console.log(MODEL_USAGE, settings.repository, settings.pollSeconds); // ".../models" 30
 * ```
 * @module
 */
import { DEFAULT_REPOSITORY } from "./repository.ts";

/** `parseArgs` options for the flags below. */
export const MODEL_FLAGS = {
  "model-repository": { type: "string" },
  model: { type: "string" },
  "default-model": { type: "string" },
  "allow-checksum-mismatch": { type: "boolean" },
  "poll-seconds": { type: "string" },
  "admin-token": { type: "string" },
  capture: { type: "string" },
  "capture-rate": { type: "string" },
  "capture-max-mb": { type: "string" },
} as const;

/** Default `--capture-rate`: one digit in a hundred. */
export const DEFAULT_CAPTURE_RATE = 0.01;
/** Default `--capture-max-mb`. */
export const DEFAULT_CAPTURE_MAX_MB = 100;
/** Default `--default-model`. */
export const DEFAULT_MODEL_NAME = "mnist";
/** Shortest admin token accepted: a guessable one would open model changes to anyone. */
export const MIN_ADMIN_TOKEN = 16;

/** Help lines, in the style of `deno task serve --help`. */
export const MODEL_USAGE = `Models:
  --model-repository DIR      models as DIR/<name>/<version>/model.onnx + model.json; the highest
                              valid version of each serves (default models/ of this checkout)
  --model FILE                serve one ONNX file as the default model, version 1, instead
  --default-model NAME        the model for requests that name none, and for legacy ones (default ${DEFAULT_MODEL_NAME})
  --allow-checksum-mismatch   serve versions without metadata, without a sha256, or whose sha256 differs
  --poll-seconds S            also rescan the repository every S seconds, for file systems where
                              watching fails (default 0: on file events, SIGHUP and HTTP load only)
  --admin-token TOKEN         allows POST /v2/repository/models/NAME/load|unload with this bearer
                              token (at least ${MIN_ADMIN_TOKEN} characters; prefer MNIST_ADMIN_TOKEN, which ps does not show)
  --capture DIR               keep a sample of the digits boards send, with the prediction, in DIR
  --capture-rate R            fraction of digits kept, 0..1 (default ${DEFAULT_CAPTURE_RATE})
  --capture-max-mb N          most megabytes of captures kept; the oldest go (default ${DEFAULT_CAPTURE_MAX_MB})`;

/** The checked settings. */
export interface ModelSettings {
  /** The repository folder, or null with `file`. */
  repository: string | null;
  /** `--model FILE`, or null. */
  file: string | null;
  defaultModel: string;
  allowChecksumMismatch: boolean;
  /** 0 = no timer. */
  pollSeconds: number;
  adminToken: string | null;
  capture: { dir: string; rate: number; maxBytes: number } | null;
}

/** A flag or environment variable with a value that cannot be used; the message is one sentence. */
export class FlagError extends Error {
  override name = "FlagError";
}

type Values = { [K in keyof typeof MODEL_FLAGS]?: string | boolean };

/** `--poll-seconds` → `MNIST_POLL_SECONDS`. */
export function envName(flag: string): string {
  return `MNIST_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** Checks the flags (which win) and their environment variables (read through `env`). */
export function modelSettings(
  values: Values,
  env: (name: string) => string | undefined,
): ModelSettings {
  const text = (flag: keyof typeof MODEL_FLAGS): string | undefined => {
    const value = values[flag] ?? env(envName(flag));
    if (value === "") throw new FlagError(`--${flag} (or ${envName(flag)}) must not be empty`);
    return value === undefined ? undefined : String(value);
  };
  const number = (flag: keyof typeof MODEL_FLAGS, fallback: number, ok: (n: number) => boolean) => {
    const value = text(flag);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!ok(n)) throw new FlagError(`--${flag} (or ${envName(flag)}) cannot be "${value}"`);
    return n;
  };
  const flagOrEnvBoolean = (flag: keyof typeof MODEL_FLAGS): boolean => {
    if (values[flag] !== undefined) return values[flag] === true;
    const value = env(envName(flag));
    if (value === undefined) return false;
    if (/^(1|true|yes)$/i.test(value)) return true;
    if (/^(0|false|no|)$/i.test(value)) return false;
    throw new FlagError(`${envName(flag)} must be true or false, got "${value}"`);
  };

  const file = text("model") ?? null;
  const repositoryGiven = text("model-repository");
  if (file && repositoryGiven) {
    throw new FlagError("--model FILE and --model-repository DIR exclude each other: give one");
  }
  const defaultModel = text("default-model") ?? DEFAULT_MODEL_NAME;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(defaultModel)) {
    throw new FlagError(
      `--default-model must be a folder name of letters, digits, "_", "-" or ".", got "${defaultModel}"`,
    );
  }
  const adminToken = text("admin-token") ?? null;
  if (adminToken !== null && adminToken.length < MIN_ADMIN_TOKEN) {
    throw new FlagError(`--admin-token must be at least ${MIN_ADMIN_TOKEN} characters`);
  }
  const captureDir = text("capture");
  const rate = number("capture-rate", DEFAULT_CAPTURE_RATE, (n) => n >= 0 && n <= 1);
  const maxMb = number("capture-max-mb", DEFAULT_CAPTURE_MAX_MB, (n) => n > 0 && n < 1e7);
  if (!captureDir && (text("capture-rate") ?? text("capture-max-mb")) !== undefined) {
    throw new FlagError("--capture-rate and --capture-max-mb need --capture DIR");
  }
  return {
    repository: file ? null : repositoryGiven ?? DEFAULT_REPOSITORY,
    file,
    defaultModel,
    allowChecksumMismatch: flagOrEnvBoolean("allow-checksum-mismatch"),
    pollSeconds: number("poll-seconds", 0, (n) => n >= 0 && n <= 86_400),
    adminToken,
    capture: captureDir
      ? { dir: captureDir, rate, maxBytes: Math.round(maxMb * 1024 * 1024) }
      : null,
  };
}
