/**
 * The serve options of the model repository, capture and repository routes,
 * as rows for the server's one option table (`server/config.ts` `OPTIONS`:
 * flag, kind, default, help; it adds the `MNIST_*` variables, parsing and
 * `--help`), and `modelSettings()`, which checks what the table cannot: the
 * rules between options and the values its kinds do not cover.
 *
 * @example
 * ```ts
 * import { modelSettings } from "./flags.ts";
 *
 * // `config` as server/config.ts resolves it (camel-cased names).
 * const settings = modelSettings({ pollSeconds: 30, allowChecksumMismatch: false });
 * console.log(settings.repository, settings.defaultModel, settings.pollSeconds); // ".../models" "mnist" 30
 * ```
 * @module
 */
import { DEFAULT_REPOSITORY } from "./repository.ts";

/** Default `--capture-rate`: one digit in a hundred. */
export const DEFAULT_CAPTURE_RATE = 0.01;
/** Default `--capture-max-mb`. */
export const DEFAULT_CAPTURE_MAX_MB = 100;
/** Default `--default-model`. */
export const DEFAULT_MODEL_NAME = "mnist";
/** Shortest admin token accepted: a guessable one would open model changes to anyone. */
export const MIN_ADMIN_TOKEN = 16;

/**
 * Rows for `OPTIONS` in server/config.ts (same shape). `--model` and
 * `--allow-checksum-mismatch` are there already; their help changes as below.
 * Options whose default depends on another (`--capture-rate`) have none here
 * and get it in `modelSettings`.
 */
export const MODEL_OPTIONS = [
  {
    flag: "model-repository",
    kind: { type: "string" },
    value: "DIR",
    help: "models as DIR/NAME/VERSION/model.onnx + model.json; each serves its highest valid " +
      "version (default: models/ of this checkout)",
  },
  {
    flag: "model",
    kind: { type: "string" },
    value: "FILE",
    help: "serve one ONNX file as the default model, version 1, instead of a repository",
  },
  {
    flag: "default-model",
    kind: { type: "string" },
    default: DEFAULT_MODEL_NAME,
    value: "NAME",
    help: "the model for requests that name none, and for legacy ones",
  },
  {
    flag: "allow-checksum-mismatch",
    kind: { type: "boolean" },
    help: "serve versions without metadata, without a sha256 in it, or whose sha256 differs; " +
      "the start line says so",
  },
  {
    flag: "poll-seconds",
    kind: { type: "int", min: 0, max: 86_400 },
    default: "0",
    value: "S",
    help: "also rescan the repository every S seconds where file events fail (NFS); 0: events, " +
      "SIGHUP and HTTP load only",
  },
  {
    flag: "admin-token",
    kind: { type: "string" },
    value: "TOKEN",
    help:
      `bearer token for every change (POST /v2/repository/index and models/NAME/load|unload) and ` +
      `the operator views (at least ${MIN_ADMIN_TOKEN} characters; the variable keeps it out of ` +
      "ps); unset: changes answer 403",
  },
  {
    flag: "capture",
    kind: { type: "string" },
    value: "DIR",
    help: "keep a sample of the digits clients send, with the prediction and version, in DIR",
  },
  {
    flag: "capture-rate",
    kind: { type: "string" },
    value: "R",
    help: `fraction of digits --capture keeps, 0..1 (default ${DEFAULT_CAPTURE_RATE})`,
  },
  {
    flag: "capture-max-mb",
    kind: { type: "int", min: 1, max: 1_000_000 },
    value: "MB",
    help:
      `most megabytes of captures kept; the oldest files go (default ${DEFAULT_CAPTURE_MAX_MB})`,
  },
] as const;

/** The options above as server/config.ts resolves them (camel-cased; unset = undefined). */
export interface ModelOptionValues {
  modelRepository?: string;
  model?: string;
  defaultModel?: string;
  allowChecksumMismatch?: boolean;
  pollSeconds?: number;
  adminToken?: string;
  capture?: string;
  captureRate?: string;
  captureMaxMb?: number;
}

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

/** Options that cannot be used together or as given; the message is one sentence. */
export class ModelSettingsError extends Error {
  override name = "ModelSettingsError";
}

/** Checks the resolved options and returns the settings the repository, watcher and capture take. */
export function modelSettings(values: ModelOptionValues): ModelSettings {
  const fail = (message: string): never => {
    throw new ModelSettingsError(message);
  };
  const file = values.model || null;
  if (file && values.modelRepository) {
    fail("--model FILE and --model-repository DIR exclude each other: give one");
  }
  const defaultModel = values.defaultModel ?? DEFAULT_MODEL_NAME;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(defaultModel)) {
    fail(
      `--default-model must be a folder name of letters, digits, "_", "-" or ".", got "${defaultModel}"`,
    );
  }
  const adminToken = values.adminToken || null;
  if (adminToken !== null && adminToken.length < MIN_ADMIN_TOKEN) {
    fail(`--admin-token must be at least ${MIN_ADMIN_TOKEN} characters`);
  }
  if (!values.capture && (values.captureRate !== undefined || values.captureMaxMb !== undefined)) {
    fail("--capture-rate and --capture-max-mb need --capture DIR");
  }
  const rateText = values.captureRate ?? String(DEFAULT_CAPTURE_RATE);
  const rate = rateText.trim() === "" ? NaN : Number(rateText);
  if (!(rate >= 0 && rate <= 1)) {
    fail(`--capture-rate must be a fraction from 0 to 1, got "${rateText}"`);
  }
  return {
    repository: file ? null : values.modelRepository || DEFAULT_REPOSITORY,
    file,
    defaultModel,
    allowChecksumMismatch: values.allowChecksumMismatch ?? false,
    pollSeconds: values.pollSeconds ?? 0,
    adminToken,
    capture: values.capture
      ? {
        dir: values.capture,
        rate,
        maxBytes: (values.captureMaxMb ?? DEFAULT_CAPTURE_MAX_MB) * 1024 * 1024,
      }
      : null,
  };
}
