// `deno task label` as a person uses it, with answers piped to a real process.
import assert from "node:assert/strict";
import { parseLabelArgs, renderDigit } from "./label.ts";
import { UsageError } from "../cli/args.ts";
import { DigitCapture } from "../server/capture/capture.ts";
import { readCaptures } from "../server/capture/capture_read.ts";

Deno.test("a digit is drawn two characters per pixel, ink dark", () => {
  const pixels = new Float32Array(784);
  pixels[0] = 1;
  pixels[28 + 1] = 0.5;
  const lines = renderDigit(pixels).split("\n");
  assert.equal(lines.length, 28);
  assert.equal(lines[0], "██");
  assert.equal(lines[1], "  ▒▒");
  assert.equal(lines[2], "");
});

async function label(dir: string, input: string): Promise<{ code: number; stdout: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "scripts/label.ts", "--captured", dir],
    cwd: new URL("..", import.meta.url).pathname,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const { code, stdout } = await child.output();
  return { code, stdout: new TextDecoder().decode(stdout) };
}

Deno.test("answers are appended as they come; labelled digits are not asked again", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-label-" });
  try {
    const capture = await DigitCapture.open({ dir, rule: "sample:1", flushMs: 60_000 });
    for (let k = 0; k < 4; k++) {
      const scores = new Float32Array(10);
      scores[k + 2] = 0.8;
      capture.offer(new Float32Array(784).fill(0.5), {
        model: "mnist",
        version: 2,
        device: "10.0.0.9",
        scores,
      });
    }
    await capture.close();
    const ids = (await Array.fromAsync(readCaptures(dir))).map((r) => r.id);

    // Enter accepts the model's 2; "x"; "seven" is asked again, then 7; "s" skips; input ends.
    let run = await label(dir, "\nx\nseven\n7\ns\n");
    assert.equal(run.code, 0);
    assert.match(run.stdout, /4 digits to label/);
    assert.match(run.stdout, /model mnist v2 said 2 \(80\.0%\)\s+from 10\.0\.0\.9/);
    assert.match(run.stdout, /answer 0-9, Enter, x, s or q/);
    assert.match(run.stdout, /labelled 3/);
    assert.equal(
      await Deno.readTextFile(`${dir}/labels.csv`),
      `${ids[0]},2\n${ids[1]},x\n${ids[2]},7\n`,
    );

    run = await label(dir, "q\n");
    assert.match(run.stdout, /1 digit to label/);
    assert.match(run.stdout, /labelled 0/);
    run = await label(dir, "0\n");
    assert.match(await Deno.readTextFile(`${dir}/labels.csv`), new RegExp(`${ids[3]},0\n$`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the digits the model was least sure of come first, with what a shadow said", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-label-order-" });
  try {
    const capture = await DigitCapture.open({ dir, rule: "sample:1", flushMs: 60_000 });
    for (const [k, confidence] of [0.9, 0.3, 0.6, 0.45].entries()) {
      const scores = new Float32Array(10).fill((1 - confidence) / 9);
      scores[k] = confidence;
      const shadowScores = new Float32Array(10);
      shadowScores[9] = 0.7;
      capture.offer(new Float32Array(784).fill(k / 10), {
        model: "mnist",
        version: 2,
        device: "kitchen",
        scores,
        shadow: k === 1 ? { version: 3, scores: shadowScores } : undefined,
      });
    }
    await capture.close();
    const ids = (await Array.fromAsync(readCaptures(dir))).map((r) => r.id);
    const run = await label(dir, "1\n3\n2\n0\n");
    assert.equal(run.code, 0);
    assert.match(run.stdout, /said 1 \(30\.0%\); shadow v3 said 9 \(70\.0%\)\s+from kitchen/);
    assert.equal(
      await Deno.readTextFile(`${dir}/labels.csv`),
      `${ids[1]},1\n${ids[3]},3\n${ids[2]},2\n${ids[0]},0\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a capture folder that is not there, or a label file that cannot be written: one sentence naming the flag, exit 2", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-label-args-" });
  try {
    await Deno.writeTextFile(`${dir}/afile`, "x");
    const refused: [string[], string][] = [
      [["--captured", `${dir}/nope`], `--captured ${dir}/nope: no such folder`],
      [["--captured", `${dir}/afile`], `--captured ${dir}/afile is a file, not a folder`],
      [
        ["--captured", dir, "--labels", dir],
        `--labels ${dir} is a folder: give the path of a file`,
      ],
      [
        ["--captured", dir, "--labels", `${dir}/no/labels.csv`],
        `--labels ${dir}/no/labels.csv: there is no folder ${dir}/no`,
      ],
      [["--captured", dir, "--below", "0"], '--below must be in (0, 1], got "0"'],
      [[], "--captured DIR is required"],
    ];
    for (const [args, sentence] of refused) {
      assert.throws(() => parseLabelArgs(args), new UsageError(sentence));
    }
    assert.deepEqual(parseLabelArgs(["--captured", dir]), {
      captured: dir,
      labels: `${dir}/labels.csv`,
      below: 1,
      help: false,
    });
    // As the task answers: one line, exit 2, no labels.csv made.
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "label", "--captured", `${dir}/nope`],
      cwd: new URL("..", import.meta.url).pathname,
      stdin: "null",
    }).output();
    assert.equal(run.code, 2);
    assert.equal(
      new TextDecoder().decode(run.stderr),
      `label: --captured ${dir}/nope: no such folder (deno task label --help)\n`,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["afile"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
