// deno task train: train_mnist.py's options it passes on are checked here
// first, so a mistyped one is one sentence and exit 2 before any file is
// written (not Python's usage text after the digits were dumped).
import assert from "node:assert/strict";
import { UsageError } from "../cli/args.ts";
import { parseTrainArgs } from "./train_args.ts";

Deno.test("the options passed on to train_mnist.py are passed as given when they are right", () => {
  const args = ["--epochs", "3", "--batch=32", "--lr", "5e-4", "--threads", "2"];
  assert.deepEqual(parseTrainArgs(["--out", "o", ...args, "--rotate", "0", "--shift=1.5"]).passOn, [
    "--epochs",
    "3",
    "--batch",
    "32",
    "--lr",
    "5e-4",
    "--threads",
    "2",
    "--rotate",
    "0",
    "--shift",
    "1.5",
  ]);
  assert.deepEqual(parseTrainArgs(["--out", "o", "--init-only"]).passOn, ["--init-only"]);
});

Deno.test("a wrong value for train_mnist.py is one sentence here, naming what it takes", () => {
  const mistakes: [string[], string][] = [
    [["--epochs", "abc"], '--epochs must be a whole number from 1, got "abc"'],
    [["--epochs", "0"], '--epochs must be a whole number from 1, got "0"'],
    [["--epochs", "2.5"], '--epochs must be a whole number from 1, got "2.5"'],
    [["--batch", "-1"], '--batch must be a whole number from 1, got "-1"'],
    [["--lr", "abc"], '--lr must be a number above 0, got "abc"'],
    [["--lr", "0"], '--lr must be a number above 0, got "0"'],
    [["--lr", "inf"], '--lr must be a number above 0, got "inf"'],
    [["--lr", "1e999"], '--lr must be a number above 0, got "1e999"'],
    [["--threads", "two"], '--threads must be a whole number from 1, got "two"'],
    [["--rotate", "-5"], '--rotate must be a number from 0, got "-5"'],
    [["--shift", "px"], '--shift must be a number from 0, got "px"'],
    [["--init-only=yes"], "--init-only takes no value"],
  ];
  for (const [args, sentence] of mistakes) {
    assert.throws(() => parseTrainArgs(["--out", "o", ...args]), UsageError, sentence);
  }
});

Deno.test("deno task train --lr abc, --epochs abc: one line, exit 2, nothing written", async () => {
  const dir = await Deno.makeTempDir();
  const cwd = new URL("..", import.meta.url).pathname;
  try {
    for (
      const [flag, takes] of [["--lr", "a number above 0"], ["--epochs", "a whole number from 1"]]
    ) {
      const args = ["task", "-q", "train", "--out", `${dir}/models/2`, flag, "abc"];
      const out = await new Deno.Command(Deno.execPath(), { args, cwd }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 2, stderr);
      assert.equal(stderr, `train: ${flag} must be ${takes}, got "abc" (deno task train --help)\n`);
      assert.equal(out.stdout.length, 0, "no usage text");
      assert.deepEqual([...Deno.readDirSync(dir)], [], "no folder, no split file");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
