/**
 * Writes a version's stage into its `model.json`, where the repository reads
 * it: promote removes `"stage"` (the "latest" policy may serve the version),
 * rollback writes `"stage": "retired"` (it never serves again until someone
 * changes that). The file is replaced by a rename, so a scan never reads half
 * of it, and every other field (the sha256 above all) is kept as it was. It
 * survives a restart because it is the repository.
 *
 * @example
 * ```ts
 * import { writeStage } from "./stage.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify({ sha256: "ab", stage: "candidate" }));
 * await writeStage(`${dir}/model.onnx`, null);
 * console.log(await Deno.readTextFile(`${dir}/model.json`)); // {"sha256":"ab"}
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */

/** The metadata file beside a model file. */
export function metadataPathOf(modelPath: string): string {
  return modelPath.replace(/\.onnx$/, "") + ".json";
}

/**
 * Why the stage of the model at `modelPath` cannot be written (the process
 * has no write permission there: `deno run --allow-write=<repository>`), or
 * null when it can.
 */
export async function cannotWriteStage(modelPath: string): Promise<string | null> {
  const dir = modelPath.slice(0, modelPath.lastIndexOf("/")) || ".";
  const { state } = await Deno.permissions.query({ name: "write", path: dir });
  if (state === "granted") return null;
  return `the stage is written into ${metadataPathOf(modelPath)}, and this server may not ` +
    `write there: run it with --allow-write=<model repository>`;
}

/** Sets (or, with null, removes) `"stage"` in the metadata of the model at `modelPath`. */
export async function writeStage(modelPath: string, stage: string | null): Promise<void> {
  const path = metadataPathOf(modelPath);
  const metadata = JSON.parse(await Deno.readTextFile(path)) as Record<string, unknown>;
  if (stage === null) delete metadata.stage;
  else metadata.stage = stage;
  // Beside the file, under a name the repository never looks at, then renamed over it.
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temporary, JSON.stringify(metadata, null, 2) + "\n");
  await Deno.rename(temporary, path);
}
