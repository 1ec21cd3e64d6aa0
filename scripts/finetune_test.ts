// The data side of a fine-tune, without Python: which version is the parent,
// the seeded split of the captured digits, the mix, what model.json records,
// and train.ts's flags for it.
import assert from "node:assert/strict";
import type { LabelledCaptures } from "./captured.ts";
import {
  FineTuneError,
  type FineTuneSettings,
  heldOutByHash,
  mixTraining,
  planFineTune,
  servedVersion,
} from "./finetune.ts";
import type { MnistDigit } from "../models/mnist_data.ts";
import { parseTrainArgs } from "./train_args.ts";

async function withRepository(
  versions: Record<number, { stage?: string; model?: boolean }>,
  fn: (modelDir: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-finetune-" });
  try {
    for (const [version, { stage, model = true }] of Object.entries(versions)) {
      await Deno.mkdir(`${root}/mnist/${version}`, { recursive: true });
      if (model) await Deno.writeTextFile(`${root}/mnist/${version}/model.onnx`, `v${version}`);
      await Deno.writeTextFile(
        `${root}/mnist/${version}/model.json`,
        JSON.stringify(stage ? { stage } : {}),
      );
    }
    await fn(`${root}/mnist`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("the parent is the highest version that serves by itself", async () => {
  await withRepository({
    1: {},
    2: { stage: "serving" },
    3: {},
    4: { stage: "retired" },
    5: { stage: "candidate" },
    6: { model: false },
  }, async (modelDir) => {
    assert.equal(await servedVersion(modelDir), `${modelDir}/3`);
  });
  await withRepository({ 1: { stage: "candidate" } }, async (modelDir) => {
    assert.equal(await servedVersion(modelDir), null);
  });
  assert.equal(await servedVersion("/tmp/no-such-mnist-repository"), null);
});

const digit = (label: number, index = -1): MnistDigit => ({
  pixels: new Float32Array(784).fill(label / 10),
  label,
  index,
});

function labelled(n: number): LabelledCaptures {
  const ids = Array.from({ length: n }, (_, k) => `20261206T1100Z-abcd1234-${k + 1}`);
  return { digits: ids.map((_, k) => digit(k % 10)), ids, skipped: 2, missing: [], unlabelled: 3 };
}

Deno.test("the captured split is seeded by capture id: stable, about the share, seed-dependent", () => {
  const { ids } = labelled(2000);
  const held = (seed: number) => ids.filter((id) => heldOutByHash(id, seed, 0.2));
  assert.deepEqual(held(0), held(0));
  assert.notDeepEqual(held(0), held(1));
  // 400 expected, standard deviation 18: these bounds are 5.5 deviations out.
  assert.ok(held(0).length > 300 && held(0).length < 500, `${held(0).length}`);
  assert.equal(ids.filter((id) => heldOutByHash(id, 0, 0)).length, 0);
});

Deno.test("the mix: a seeded choice of MNIST's digits, then each captured digit repeated", () => {
  const mnist = Array.from({ length: 100 }, (_, i) => digit(i % 10, i));
  const captured = [digit(3), digit(8)];
  const mix = mixTraining(mnist, captured, { mnistDigits: 30, repeat: 4, seed: 0 });
  assert.equal(mix.length, 30 + 8);
  const chosen = mix.slice(0, 30).map((d) => d.index);
  assert.deepEqual(chosen, [...chosen].sort((a, b) => a - b), "MNIST's stay in their order");
  assert.deepEqual(mixTraining(mnist, captured, { mnistDigits: 30, repeat: 4, seed: 0 }), mix);
  assert.equal(mix.filter((d) => d.index === -1).length, 8);
  assert.equal(mixTraining(mnist, [], { mnistDigits: Infinity, repeat: 4, seed: 0 }).length, 100);
});

Deno.test("the plan records the parent's sha256 and the capture's counts; mistakes are one sentence", async () => {
  await withRepository({ 1: {}, 2: { stage: "candidate" } }, async (modelDir) => {
    const settings: FineTuneSettings = {
      dir: "/var/lib/mnist/capture",
      labels: "/var/lib/mnist/capture/labels.csv",
      from: null,
      modelDir,
      seed: 0,
      heldOutShare: 0.25,
      mix: { mnistDigits: 50, repeat: 3 },
    };
    const mnist = Array.from({ length: 100 }, (_, i) => digit(i % 10, i));
    const plan = await planFineTune(settings, mnist, labelled(40));
    assert.equal(plan.parent.folder, `${modelDir}/1`);
    assert.equal(plan.parent.version, 1);
    assert.equal(
      plan.parent.sha256,
      "3bfc269594ef649228e9a74bab00f042efc91d5acc6fbee31a382e80d42388fe",
      'sha256 of the bytes "v1"',
    );
    const capture = plan.provenance.data.capture;
    assert.equal(capture.labelled, 40);
    assert.equal(Number(capture.train) + Number(capture.heldOut), 40);
    assert.equal(plan.capturedHeldOut.length, capture.heldOut);
    assert.equal(capture.mnistTrain, 50);
    assert.equal(capture.markedX, 2);
    assert.equal(capture.unlabelled, 3);
    assert.equal(plan.train.length, 50 + 3 * Number(capture.train));
    assert.deepEqual(Object.keys(plan.provenance.parent).sort(), ["folder", "sha256", "version"]);

    await assert.rejects(
      planFineTune({ ...settings, from: `${modelDir}/9` }, mnist, labelled(4)),
      (e: Error) => e instanceof FineTuneError && /cannot read .*\/9\/model\.onnx/.test(e.message),
    );
    await assert.rejects(
      planFineTune(settings, mnist, labelled(0)),
      (e: Error) => e instanceof FineTuneError && /labels none of the digits/.test(e.message),
    );
  });
  await withRepository({ 1: { stage: "candidate" } }, async (modelDir) => {
    await assert.rejects(
      planFineTune(
        {
          dir: "/c",
          labels: "/c/labels.csv",
          from: null,
          modelDir,
          seed: 0,
          heldOutShare: 0.2,
          mix: { mnistDigits: 1, repeat: 1 },
        },
        [],
        labelled(3),
      ),
      /has no served version to fine-tune .*: name one with --from VERSION_DIR/,
    );
  });
});

Deno.test("train's flags: fine-tuning's own defaults, stage, and one-sentence mistakes", () => {
  const tune = parseTrainArgs(["--from-capture", "/cap", "--out", "models/mnist/3"]);
  assert.equal(tune.fromCapture, true);
  assert.equal(tune.captured, "/cap");
  assert.equal(tune.stage, "candidate");
  assert.equal(tune.heldOutShare, 0.2);
  assert.equal(tune.repeat, 10);
  assert.equal(tune.mnistDigits, Infinity);
  assert.deepEqual(tune.passOn, ["--epochs", "2", "--lr", "5e-4"]);
  const given = parseTrainArgs([
    "--from-capture=/cap",
    "--out=o",
    "--epochs=5",
    "--seed=3",
    "--stage=serving",
    "--held-out=0.5",
    "--mnist-digits=500",
  ]);
  assert.deepEqual(given.passOn, ["--epochs", "5", "--seed", "3", "--lr", "5e-4"]);
  assert.equal(given.seed, 3);
  assert.equal(given.stage, "serving");
  assert.equal(given.heldOutShare, 0.5);
  assert.equal(given.mnistDigits, 500);
  assert.deepEqual(parseTrainArgs(["--out", "o"]).passOn, [], "from scratch: train_mnist's own");
  const mistakes: [string[], RegExp][] = [
    [["--out", "o", "--stage", "live"], /--stage must be candidate or serving, got "live"/],
    [["--out", "o", "--from", "models/mnist/1"], /--from needs --from-capture DIR/],
    [["--out", "o", "--repeat", "3"], /--repeat needs --from-capture DIR/],
    [["--out", "o", "--from-capture", "/c", "--held-out", "1.5"], /--held-out must be a share/],
    [["--out", "o", "--from-capture", "/c", "--repeat", "2.5"], /--repeat must be a whole number/],
    [["--out", "o", "--from-capture", "/c", "--captured", "/c"], /exclude each other/],
  ];
  for (const [args, message] of mistakes) {
    assert.throws(() => parseTrainArgs(args), message, args.join(" "));
  }
});
