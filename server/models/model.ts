/**
 * Loads a model file for the engine: its bytes, its sha256 checked against
 * the metadata beside it (`models/mnist.onnx` → `models/mnist.json`), and its
 * parameter count.
 *
 * @example
 * ```ts
 * import { loadModelFile } from "./model.ts";
 *
 * const model = await loadModelFile("models/mnist.onnx", { verifyChecksum: true });
 * console.log(model.name, model.parameters, model.sha256);
 * ```
 * @module
 */
import { countParameters } from "./_onnx.ts";

/** The model the server serves when given none. */
export const DEFAULT_MODEL = new URL("../../models/mnist.onnx", import.meta.url);

/** A model read from disk and checked. */
export interface ModelFile {
  path: string;
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

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Reads the model at `path`. With `verifyChecksum`, a metadata file beside it
 * whose `sha256` differs from the file's makes this throw a `ModelError`.
 */
export async function loadModelFile(
  path: string | URL,
  options: { verifyChecksum: boolean },
): Promise<ModelFile> {
  const filePath = path instanceof URL ? path.pathname : path;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(filePath);
  } catch (e) {
    throw new ModelError(`cannot read model ${filePath}: ${(e as Error).message}`);
  }
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
  const name = filePath.slice(filePath.lastIndexOf("/") + 1);
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
