/**
 * Checks the bundled model, models/mnist/1/model.onnx, with the real
 * onnxruntime-web (WASM) in Deno: sha256 against its metadata (model.json),
 * the torch reference outputs in reference.json beside it (within their
 * tolerance, 1e-4), the symbolic batch dimension, and the held-out accuracy
 * recorded in model.json.
 *
 * ORT-web in Deno: `import * as ort from "onnxruntime-web"` resolves to
 * `dist/ort.node.min.mjs`; set `ort.env.wasm.numThreads = 1` (no worker
 * threads) and point `ort.env.wasm.wasmPaths` at that `dist/` folder, where
 * `ort-wasm-simd-threaded.{mjs,wasm}` live (it also finds them unaided, but
 * being explicit keeps it independent of ORT's script-path guessing).
 *
 * @example
 * ```sh
 * deno test --allow-read --allow-env models/
 * ```
 * @module
 */
import * as ort from "onnxruntime-web";
import assert from "node:assert/strict";
import { loadHeldOut, loadMnist, PIXELS } from "./mnist_data.ts";

ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = new URL("./", import.meta.resolve("onnxruntime-web")).href;

interface ReferenceCase {
  name: string;
  heldOutIndex?: number;
  label?: number;
  pixels: string;
  probabilities: number[];
}
interface Reference {
  sha256: string;
  input: string;
  output: string;
  tolerance: number;
  cases: ReferenceCase[];
}
interface Meta {
  parameters: number;
  input: { name: string; shape: (string | number)[] };
  output: { name: string; shape: (string | number)[] };
  opset: number;
  heldOutAccuracy: number;
  heldOutCorrect: number;
  sha256: string;
}

const modelBytes = await Deno.readFile(new URL("./mnist/1/model.onnx", import.meta.url));
const readJson = async <T>(name: string): Promise<T> =>
  JSON.parse(await Deno.readTextFile(new URL(name, import.meta.url))) as T;
const meta = await readJson<Meta>("./mnist/1/model.json");
const reference = await readJson<Reference>("./mnist/1/reference.json");
const session = await ort.InferenceSession.create(modelBytes);

function decodeF32(b64: string): Float32Array {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

async function run(images: Float32Array[]): Promise<Float32Array> {
  const data = new Float32Array(images.length * PIXELS);
  images.forEach((img, i) => data.set(img, i * PIXELS));
  const out = await session.run({
    [meta.input.name]: new ort.Tensor("float32", data, [images.length, 1, 28, 28]),
  });
  const probs = out[meta.output.name];
  assert.deepEqual(probs.dims, [images.length, 10]);
  return probs.data as Float32Array;
}

Deno.test("model.onnx sha256 matches model.json and reference.json", async () => {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", modelBytes));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(hex, meta.sha256);
  assert.equal(reference.sha256, meta.sha256);
});

Deno.test("model.onnx interface matches model.json", () => {
  assert.equal(meta.parameters, 93_322);
  assert.ok(meta.opset >= 13 && meta.opset <= 17);
  assert.deepEqual(session.inputNames, [meta.input.name]);
  assert.deepEqual(session.outputNames, [meta.output.name]);
  assert.deepEqual(meta.input.shape, ["batch", 1, 28, 28]);
  assert.deepEqual(meta.output.shape, ["batch", 10]);
});

Deno.test("ORT outputs match the torch reference (batched and one by one)", async () => {
  const inputs = reference.cases.map((c) => decodeF32(c.pixels));
  for (const x of inputs) assert.equal(x.length, PIXELS);
  const batched = await run(inputs);
  for (const [i, c] of reference.cases.entries()) {
    const single = await run([inputs[i]]);
    for (let k = 0; k < 10; k++) {
      const want = c.probabilities[k];
      for (const got of [batched[i * 10 + k], single[k]]) {
        assert.ok(
          Math.abs(got - want) <= reference.tolerance,
          `${c.name}: p[${k}] = ${got}, torch ${want}`,
        );
      }
    }
    const sum = single.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `${c.name}: probabilities sum to ${sum}`);
  }
});

Deno.test("reference held-out digits are the ones models/mnist_data.ts defines", () => {
  const all = loadMnist();
  const heldOut = new Set(loadHeldOut().map((d) => d.index));
  for (const c of reference.cases) {
    if (c.heldOutIndex === undefined) continue;
    assert.ok(heldOut.has(c.heldOutIndex), `${c.heldOutIndex} is not held out`);
    const digit = all[c.heldOutIndex];
    assert.equal(digit.label, c.label);
    assert.deepEqual(decodeF32(c.pixels), digit.pixels);
  }
});

Deno.test("ORT held-out accuracy equals model.json", async () => {
  const heldOut = loadHeldOut();
  let correct = 0;
  for (let i = 0; i < heldOut.length; i += 100) {
    const batch = heldOut.slice(i, i + 100);
    const probs = await run(batch.map((d) => d.pixels));
    batch.forEach((d, j) => {
      const row = Array.from(probs.subarray(j * 10, j * 10 + 10));
      if (row.indexOf(Math.max(...row)) === d.label) correct++;
    });
  }
  assert.equal(correct, meta.heldOutCorrect);
  assert.equal(correct / heldOut.length, meta.heldOutAccuracy);
});
