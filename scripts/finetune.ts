/**
 * The data side of `deno task train --from-capture DIR`: which version is
 * fine-tuned (the served one: the highest version folder of the repository
 * that is not a candidate or retired, or `--from VERSION_DIR`), which
 * labelled captured digits are held out to measure it (a seeded split by
 * capture id, so a digit stays on its side as more labels arrive), and the
 * training mix: MNIST's training digits (all, or a seeded subset) with each
 * captured training digit repeated, so the model learns the boards' digits
 * without forgetting MNIST's.
 *
 * @example
 * ```ts
 * import { heldOutByHash, servedVersion } from "./finetune.ts";
 *
 * const parent = await servedVersion("models/mnist"); // "models/mnist/1"
 * console.log(parent, heldOutByHash("20261128T0830Z-1a2b3c4d-17", 0, 0.2));
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import type { LabelledCaptures } from "./captured.ts";
import type { MnistDigit } from "../models/mnist_data.ts";

/** The model file of a version folder. */
const MODEL_FILE = "model.onnx";

/** How the captured digits are split, in words for `model.json`. */
export const CAPTURE_SPLIT_RULE = "held out = the labelled captured digits whose " +
  'sha256("<seed>:<capture id>") read as a big-endian 32-bit number, divided by 2^32, is below ' +
  "the held-out share; train = the rest";

/** A number in [0, 1) fixed by the seed and the key (a capture id, an MNIST index). */
export function seededHash(seed: number, key: string | number): number {
  return createHash("sha256").update(`${seed}:${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** Whether the captured digit `id` is held out, for this seed and share. */
export function heldOutByHash(id: string, seed: number, share: number): boolean {
  return seededHash(seed, id) < share;
}

/** What a version folder's `model.json` says, or null when it has none or cannot be read. */
async function metadata(folder: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await Deno.readTextFile(`${folder}/model.json`));
  } catch {
    return null;
  }
}

/**
 * The folder of the version the repository serves to everyone: the highest
 * numbered folder of `modelDir` with a model file whose `model.json` has no
 * `"stage"` other than `"serving"` (a candidate or a retired version serves
 * nobody by itself); null when there is none.
 */
export async function servedVersion(modelDir: string): Promise<string | null> {
  const versions: number[] = [];
  try {
    for await (const entry of Deno.readDir(modelDir)) {
      if (entry.isDirectory && /^[1-9]\d*$/.test(entry.name)) versions.push(Number(entry.name));
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  for (const version of versions.sort((a, b) => b - a)) {
    const folder = `${modelDir}/${version}`;
    // A candidate, or a version rolled back ("retired"), serves nobody by itself.
    const stage = (await metadata(folder))?.stage;
    if (typeof stage === "string" && stage !== "serving") continue;
    if (await Deno.stat(`${folder}/${MODEL_FILE}`).then(() => true, () => false)) return folder;
  }
  return null;
}

/** The version a fine-tune starts from, as `model.json`'s `parent` records it. */
export interface ParentVersion {
  /** Its version number (the folder's name), or null when the folder is not named by one. */
  version: number | null;
  folder: string;
  /** The sha256 of its `model.onnx`, as read now. */
  sha256: string;
  /** Its `model.onnx`. */
  model: string;
}

/** Reads a parent version folder; throws an Error of one sentence when it has no model. */
export async function readParent(folder: string): Promise<ParentVersion> {
  const model = `${folder}/${MODEL_FILE}`;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(model);
  } catch (e) {
    throw new Error(`cannot read ${model}: ${(e as Error).message}`);
  }
  const name = folder.replace(/\/+$/, "").split("/").at(-1) ?? "";
  return {
    version: /^[1-9]\d*$/.test(name) ? Number(name) : null,
    folder,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    model,
  };
}

/** The captured digits of each side of the split, and how they were split. */
export interface CapturedSplit {
  train: MnistDigit[];
  heldOut: MnistDigit[];
}

/** Splits the labelled captured digits by `heldOutByHash`. */
export function splitCaptured(found: LabelledCaptures, seed: number, share: number): CapturedSplit {
  const split: CapturedSplit = { train: [], heldOut: [] };
  found.digits.forEach((digit, i) => {
    (heldOutByHash(found.ids[i], seed, share) ? split.heldOut : split.train).push(digit);
  });
  return split;
}

/** How the training digits are mixed. */
export interface MixOptions {
  /** How many of MNIST's training digits (a seeded choice; at least all of them when larger). */
  mnistDigits: number;
  /** How many times each captured training digit appears. */
  repeat: number;
  seed: number;
}

/** MNIST's training digits (a seeded subset when `mnistDigits` is fewer), then the captured ones repeated. */
export function mixTraining(
  mnistTrain: MnistDigit[],
  capturedTrain: MnistDigit[],
  options: MixOptions,
): MnistDigit[] {
  const mnist = options.mnistDigits >= mnistTrain.length ? mnistTrain : mnistTrain
    .map((digit) => ({ digit, key: seededHash(options.seed, digit.index) }))
    .sort((a, b) => a.key - b.key)
    .slice(0, options.mnistDigits)
    .map(({ digit }) => digit)
    .sort((a, b) => a.index - b.index);
  const mix = [...mnist];
  for (let r = 0; r < options.repeat; r++) mix.push(...capturedTrain);
  return mix;
}

/** `--from-capture`'s settings, as train.ts read them. */
export interface FineTuneSettings {
  /** The capture folder and its label file. */
  dir: string;
  labels: string;
  /** The parent's folder (`--from`), or null for the served version of `--out`'s model. */
  from: string | null;
  /** `--out`'s model folder (the repository's `<model>/`). */
  modelDir: string;
  seed: number;
  heldOutShare: number;
  mix: Omit<MixOptions, "seed">;
}

/** What a fine-tune trains and measures on, and what `model.json` records of it. */
export interface FineTunePlan {
  parent: ParentVersion;
  train: MnistDigit[];
  /** The captured held-out digits (measured apart from MNIST's held-out set). */
  capturedHeldOut: MnistDigit[];
  /** For the split file's header: `parent` and `data.capture` of `model.json`. */
  provenance: { parent: Omit<ParentVersion, "model">; data: { capture: Record<string, unknown> } };
}

/** A fine-tune that cannot start; the message is one sentence. */
export class FineTuneError extends Error {
  override name = "FineTuneError";
}

/** Finds the parent, splits and mixes the digits of `found` (the labelled captures). */
export async function planFineTune(
  settings: FineTuneSettings,
  mnistTrain: MnistDigit[],
  found: LabelledCaptures,
): Promise<FineTunePlan> {
  const folder = settings.from ?? await servedVersion(settings.modelDir);
  if (!folder) {
    throw new FineTuneError(
      `${settings.modelDir} has no served version to fine-tune (every version is a candidate ` +
        "or has no model.onnx): name one with --from VERSION_DIR",
    );
  }
  let parent: ParentVersion;
  try {
    parent = await readParent(folder);
  } catch (e) {
    throw new FineTuneError((e as Error).message);
  }
  if (found.digits.length === 0) {
    throw new FineTuneError(
      `${settings.labels} labels none of the digits in ${settings.dir}: label some first ` +
        `(deno task label --captured ${settings.dir})`,
    );
  }
  const split = splitCaptured(found, settings.seed, settings.heldOutShare);
  const train = mixTraining(mnistTrain, split.train, { ...settings.mix, seed: settings.seed });
  const { model: _, ...recorded } = parent;
  return {
    parent,
    train,
    capturedHeldOut: split.heldOut,
    provenance: {
      parent: recorded,
      data: {
        capture: {
          dir: settings.dir,
          labels: settings.labels,
          labelled: found.digits.length,
          train: split.train.length,
          heldOut: split.heldOut.length,
          markedX: found.skipped,
          unlabelled: found.unlabelled,
          heldOutShare: settings.heldOutShare,
          split: CAPTURE_SPLIT_RULE,
          repeat: settings.mix.repeat,
          mnistTrain: train.length - split.train.length * settings.mix.repeat,
        },
      },
    },
  };
}
