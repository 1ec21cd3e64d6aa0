/**
 * The model repository's folders on disk (`repository.ts` decides what
 * serves): where the versions are (`<root>/<model>/<version>/`, or the one
 * file of `--model`), the state of a version's folder (the names, sizes and
 * mtimes in it, so a folder is checked again once anything in it changes),
 * and what one version holds: a model file, not empty, ONNX, matching the
 * sha256 of its metadata, and its stage.
 *
 * @example
 * ```ts
 * import { inspectVersion, MODEL_FILE, repositoryLayout } from "./version_folders.ts";
 * import { DEFAULT_REPOSITORY } from "./repository.ts";
 *
 * const layout = await repositoryLayout(DEFAULT_REPOSITORY);
 * const [first] = layout.get("mnist") ?? [];
 * const status = await inspectVersion("mnist", first.version, first.dir, `${first.dir}/${MODEL_FILE}`, {
 *   single: false,
 *   allowChecksumMismatch: false,
 * });
 * console.log(status.state, status.sha256 !== null); // READY true
 * ```
 * @module
 */
import { loadModelFile, ModelError } from "./model.ts";
import type { RefusalKind, VersionStatus } from "./version_status.ts";

/** The model file's name in a version folder (its metadata is `model.json` beside it). */
export const MODEL_FILE = "model.onnx";

/** One version folder found: its number, its path, and the paths of what is in it. */
export interface VersionFolder {
  version: number;
  dir: string;
  files: string[];
}

/** What `inspectVersion` needs to know of the repository. */
export interface InspectOptions {
  /** The one file of `--model`: its metadata and sha256 stay optional. */
  single: boolean;
  /** Serve versions without metadata, without a sha256, or whose sha256 differs. */
  allowChecksumMismatch: boolean;
}

/** A folder's state: its entries' names, sizes and mtimes. */
export async function signatureOf(paths: string[]): Promise<string> {
  const parts: string[] = [];
  for (const path of paths) {
    try {
      const info = await Deno.stat(path);
      parts.push(`${path}:${info.size}:${info.mtime?.getTime() ?? 0}`);
    } catch {
      parts.push(`${path}:-`);
    }
  }
  return parts.join("|");
}

/** `<root>/<model>/<version>/` folders; anything else (files, `.tmp` names) is not looked at. */
export async function repositoryLayout(root: string): Promise<Map<string, VersionFolder[]>> {
  const found = new Map<string, VersionFolder[]>();
  let models: Deno.DirEntry[];
  try {
    models = await Array.fromAsync(Deno.readDir(root));
  } catch (e) {
    throw new ModelError(`cannot read model repository ${root}: ${(e as Error).message}`);
  }
  for (const model of models) {
    if (!model.isDirectory || model.name.startsWith(".")) continue;
    const versions: VersionFolder[] = [];
    try {
      for await (const entry of Deno.readDir(`${root}/${model.name}`)) {
        if (!entry.isDirectory || !/^[1-9]\d{0,8}$/.test(entry.name)) continue;
        const dir = `${root}/${model.name}/${entry.name}`;
        // An unreadable folder has an empty signature; its check says why.
        const files = await folderEntries(dir).catch(() => [] as string[]);
        versions.push({ version: Number(entry.name), dir, files });
      }
    } catch (e) {
      // A model folder removed while being listed is simply gone.
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (versions.length) found.set(model.name, versions);
  }
  return found;
}

/** One model file served as model `name`, version 1, its metadata beside it. */
export function singleFileLayout(file: string, name: string): Map<string, VersionFolder[]> {
  const metadata = file.replace(/\.onnx$/, "") + ".json";
  const dir = file.slice(0, file.lastIndexOf("/")) || ".";
  return new Map([[name, [{ version: 1, dir, files: [file, metadata] }]]]);
}

/** Version `version` of model `name` (its model file at `path`, in `dir`): `READY`, or why not. */
export async function inspectVersion(
  name: string,
  version: number,
  dir: string,
  path: string,
  { single, allowChecksumMismatch }: InspectOptions,
): Promise<VersionStatus> {
  const base: VersionStatus = {
    model: name,
    version,
    state: "READY",
    reason: "",
    kind: null,
    path,
    sha256: null,
    parameters: null,
    stage: null,
  };
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new Deno.errors.NotFound();
  } catch (e) {
    const missing = e instanceof Deno.errors.NotFound;
    return {
      ...base,
      state: "UNAVAILABLE",
      kind: missing ? "no_model_file" : "unreadable",
      reason: !missing
        ? `cannot read model ${path}: ${(e as Error).message}`
        : single
        ? `model file ${path} does not exist`
        : `version folder ${dir} has no ${MODEL_FILE}`,
    };
  }
  try {
    const verify = !allowChecksumMismatch;
    const file = await loadModelFile(path, {
      verifyChecksum: verify,
      requireChecksum: verify && !single,
    });
    return {
      ...base,
      sha256: file.sha256,
      parameters: file.parameters,
      stage: stageOf(file.metadata),
    };
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
    return { ...base, state: "UNAVAILABLE", kind: kindOf(e.message), reason: e.message };
  }
}

async function folderEntries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort().map((name) => `${dir}/${name}`);
}

/** The refusal kind of a model file's load error. */
function kindOf(message: string): RefusalKind {
  if (/cannot read model /.test(message)) return "unreadable";
  if (/ is empty$/.test(message)) return "empty";
  if (/has no metadata|has no sha256|cannot read model metadata/.test(message)) return "metadata";
  if (/ has sha256 .* says /.test(message)) return "checksum";
  return "corrupt";
}

/** A metadata `"stage"` as `VersionStatus.stage` keeps it: `"serving"` and absent are the same. */
function stageOf(metadata: Record<string, unknown> | null): string | null {
  const stage = metadata?.stage;
  return typeof stage === "string" && stage !== "serving" ? stage : null;
}
