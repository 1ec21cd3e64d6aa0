/**
 * Loads a model file for the engine: its bytes, its sha256 checked against
 * the metadata beside it (`models/mnist/1/model.onnx` →
 * `models/mnist/1/model.json`), and its parameter count. The repository
 * (`repository.ts`) calls this for each version it finds.
 *
 * @example
 * ```ts
 * import { loadModelFile } from "./model.ts";
 *
 * const model = await loadModelFile("models/mnist/1/model.onnx", { verifyChecksum: true });
 * console.log(model.name, model.parameters, model.sha256); // "mnist" 93322 "a8a8…"
 * ```
 * @module
 */
import { countParameters } from "./_onnx.ts";

/** The model the server serves when given none: version 1 of `mnist` in the bundled repository. */
export const DEFAULT_MODEL = new URL("../../models/mnist/1/model.onnx", import.meta.url);

/** A model read from disk and checked. */
export interface ModelFile {
  path: string;
  /**
   * The model's name: `<name>` of a repository path `<name>/<version>/model.onnx`,
   * otherwise the file's name without `.onnx`.
   */
  name: string;
  bytes: Uint8Array;
  sha256: string;
  parameters: number;
  /** The metadata file's contents, when there is one. */
  metadata: Record<string, unknown> | null;
  /** The model's version: the metadata's `version`, else 1. */
  version: number;
  /** Whether the sha256 was checked, and if not why: what the start line says. */
  checksum: "verified" | "skipped-by-flag" | "no-metadata" | "no-sha256-in-metadata";
}

/** Thrown when a model cannot be served; its message says why. */
export class ModelError extends Error {
  override name = "ModelError";
}

/** The lowercase hex sha256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Options of `loadModelFile`. */
export interface LoadModelOptions {
  /** A metadata `sha256` that differs from the file's makes the load fail. */
  verifyChecksum: boolean;
  /**
   * A missing metadata file, or one without a `sha256`, makes the load fail
   * too (the repository asks for this; a lone `--model FILE` does not).
   */
  requireChecksum?: boolean;
}

/** The model name a path implies: `<name>` of `<name>/<digits>/model.onnx`, else the basename. */
export function modelNameOf(filePath: string): string {
  const parts = filePath.split("/");
  const file = parts.at(-1) ?? "";
  if (file === "model.onnx" && parts.length >= 3 && /^\d+$/.test(parts.at(-2)!)) {
    return parts.at(-3)!;
  }
  return file.replace(/\.onnx$/, "");
}

/**
 * Reads the model at `path`. With `verifyChecksum`, a metadata file beside it
 * whose `sha256` differs from the file's makes this throw a `ModelError`.
 */
export async function loadModelFile(
  path: string | URL,
  options: LoadModelOptions,
): Promise<ModelFile> {
  const filePath = path instanceof URL ? path.pathname : path;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(filePath);
  } catch (e) {
    throw new ModelError(`cannot read model ${filePath}: ${(e as Error).message}`);
  }
  if (bytes.length === 0) throw new ModelError(`model ${filePath} is empty`);
  const sha256 = await sha256Hex(bytes);
  const metadataPath = filePath.replace(/\.onnx$/, "") + ".json";
  let metadata: Record<string, unknown> | null = null;
  try {
    metadata = JSON.parse(await Deno.readTextFile(metadataPath));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new ModelError(`cannot read model metadata ${metadataPath}: ${(e as Error).message}`);
    }
  }
  if (options.requireChecksum && typeof metadata?.sha256 !== "string") {
    throw new ModelError(
      metadata
        ? `model metadata ${metadataPath} has no sha256, so ${filePath} cannot be checked ` +
          `(write it with 'deno task train', or pass --allow-checksum-mismatch)`
        : `model ${filePath} has no metadata file ${metadataPath} with its sha256 ` +
          `(write it with 'deno task train', or pass --allow-checksum-mismatch)`,
    );
  }
  if (
    options.verifyChecksum && metadata && typeof metadata.sha256 === "string" &&
    metadata.sha256 !== sha256
  ) {
    throw new ModelError(
      `model ${filePath} has sha256 ${sha256}, but ${metadataPath} says ${metadata.sha256}: ` +
        `the file was changed or corrupted (retrain with 'deno task train', or pass --allow-checksum-mismatch)`,
    );
  }
  let parameters: number;
  try {
    parameters = countParameters(bytes);
  } catch (e) {
    throw new ModelError(`model ${filePath} is not an ONNX file: ${(e as Error).message}`);
  }
  const name = modelNameOf(filePath);
  const version = Number.isInteger(metadata?.version) && (metadata!.version as number) > 0
    ? metadata!.version as number
    : 1;
  const checksum = !options.verifyChecksum
    ? "skipped-by-flag"
    : !metadata
    ? "no-metadata"
    : typeof metadata.sha256 !== "string"
    ? "no-sha256-in-metadata"
    : "verified";
  return { path: filePath, name, bytes, sha256, parameters, metadata, version, checksum };
}
