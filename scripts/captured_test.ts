// The data-merging half of the retraining loop, without Python: a real
// capture folder written by the server's DigitCapture, a label file, the
// split file train_mnist.py reads, and train.ts's command line.
import assert from "node:assert/strict";
import { LabelError, loadLabelledCaptures, parseLabels } from "./captured.ts";
import { parseTrainArgs } from "./train_args.ts";
import { encodeSplit } from "./split_file.ts";
import { DigitCapture } from "../server/capture/capture.ts";
import { readCaptures } from "../server/capture/capture_read.ts";
import type { MnistDigit } from "../models/mnist_data.ts";

Deno.test("label files: digits, x, comments, a header; later lines win; bad lines are named", () => {
  const labels = parseLabels(
    "id,label\n# a comment\n\na-1,7\na-2 , x\na-3,3\na-3,8\n",
  );
  assert.deepEqual([...labels], [["a-1", 7], ["a-2", null], ["a-3", 8]]);
  assert.throws(
    () => parseLabels("a-1,7\na-2,12\n", "my.csv"),
    (e: Error) =>
      e instanceof LabelError && /my\.csv line 2: expected .* got "a-2,12"/.test(e.message),
  );
  assert.throws(() => parseLabels("a-1"), /line 1/);
});

/** A capture folder with `n` digits; digit k is filled with k/255 and predicted as k % 10. */
async function captureFolder(n: number): Promise<{ dir: string; ids: string[] }> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-captured-" });
  const capture = await DigitCapture.open({ dir, rule: "sample:1", flushMs: 60_000 });
  for (let k = 0; k < n; k++) {
    const scores = new Float32Array(10);
    scores[k % 10] = 1;
    capture.offer(new Float32Array(784).fill(k / 255), {
      model: "mnist",
      version: 1,
      device: "10.0.0.1",
      scores,
    });
  }
  await capture.close();
  const ids = (await Array.fromAsync(readCaptures(dir))).map((r) => r.id);
  return { dir, ids };
}

Deno.test("labelled captures become training digits; x, unlabelled and missing are counted", async () => {
  const { dir, ids } = await captureFolder(5);
  try {
    await Deno.writeTextFile(
      `${dir}/labels.csv`,
      `${ids[0]},4\n${ids[1]},x\n${ids[3]},9\ngone-from-disk-1,2\n`,
    );
    const found = await loadLabelledCaptures(dir);
    assert.deepEqual(found.digits.map((d) => d.label), [4, 9]);
    assert.deepEqual(found.digits.map((d) => d.index), [-1, -1]);
    assert.equal(found.digits[1].pixels[0], Math.fround(3 / 255));
    assert.equal(found.skipped, 1);
    assert.equal(found.unlabelled, 2);
    assert.deepEqual(found.missing, ["gone-from-disk-1"]);
    await assert.rejects(
      loadLabelledCaptures(dir, `${dir}/nope.csv`),
      /cannot read the label file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the split file carries captured digits at the end of the training set", async () => {
  const { dir, ids } = await captureFolder(3);
  try {
    await Deno.writeTextFile(`${dir}/labels.csv`, ids.map((id, k) => `${id},${k}`).join("\n"));
    const { digits } = await loadLabelledCaptures(dir);
    const mnist: MnistDigit = { pixels: new Float32Array(784).fill(0.5), label: 6, index: 42 };
    const heldOut: MnistDigit = { pixels: new Float32Array(784), label: 1, index: 9999 };
    const bytes = encodeSplit([mnist, ...digits], [heldOut], {
      dir,
      labels: `${dir}/labels.csv`,
      count: digits.length,
    });
    const view = new DataView(bytes.buffer);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "MNS1");
    const headerLength = view.getUint32(4, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    assert.equal(header.train, 4);
    assert.equal(header.heldOut, 1);
    assert.equal(header.captured, 3);
    assert.equal(header.capturedFrom.dir, dir);
    assert.match(header.source, /\+ 3 captured digits labelled by people/);
    const pixels = 8 + headerLength;
    const n = 5;
    // Train digit 2 is captured digit 1 (filled with 1/255).
    assert.equal(view.getFloat32(pixels + 2 * 784 * 4, true), Math.fround(1 / 255));
    const labels = pixels + n * 784 * 4;
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => view.getInt32(labels + i * 4, true)), [
      6,
      0,
      1,
      2,
      1,
    ]);
    const indices = labels + n * 4;
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => view.getInt32(indices + i * 4, true)),
      [42, -1, -1, -1, 9999],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train's own flags are read; the rest go to train_mnist.py", () => {
  const args = parseTrainArgs([
    "--out",
    "models/mnist/2",
    "--epochs",
    "3",
    "--captured=/cap",
    "--init-only",
  ]);
  assert.equal(args.out, "models/mnist/2");
  assert.equal(args.captured, "/cap");
  assert.equal(args.labels, undefined);
  assert.deepEqual(args.passOn, ["--epochs", "3", "--init-only"]);
});

const train = (...args: string[]) =>
  new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      "scripts/train.ts",
      ...args,
    ],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();

Deno.test("train --help needs no Python; mistakes are one sentence and exit 2", async () => {
  const help = await train("--help");
  assert.equal(help.code, 0);
  assert.match(new TextDecoder().decode(help.stdout), /Usage: deno task train --out DIR/);
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-train-" });
  try {
    for (
      const [args, message] of [
        [[], /--out DIR is required/],
        [["--out", dir], /already exists: a version folder is written once/],
        [["--out", `${dir}/2`, "--labels", "l.csv"], /--labels needs --captured DIR/],
        [["--out", `${dir}/2`, "--captured", dir], /cannot read the label file/],
      ] as const
    ) {
      const { code, stderr } = await train(...args);
      const text = new TextDecoder().decode(stderr);
      assert.equal(code, 2, `${args.join(" ")}: ${text}`);
      assert.match(text, message);
      assert.doesNotMatch(text, /at .*\.ts:\d+/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
