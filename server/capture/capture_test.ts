// Capture on real files in /tmp: the rule's terms, the record format,
// rotation and the size cap, and what happens when the disk fails.
import assert from "node:assert/strict";
import { CaptureError, DigitCapture } from "./capture.ts";
import { captureFiles, capturePixels, readCaptures } from "./capture_read.ts";
import { CaptureRuleError } from "./capture_rule.ts";
import type { ShadowEvent } from "../rollout/shadow_event.ts";
import { prng } from "../../shared/testing.ts";
import { Logger } from "../log.ts";

/** Digit `k`: a distinct pattern, and scores that make `k % 10` the prediction. */
function sample(k: number): { digit: Float32Array; scores: Float32Array } {
  const digit = Float32Array.from({ length: 784 }, (_, i) => ((i * 7 + k) % 256) / 255);
  const scores = new Float32Array(10).fill(0.01);
  scores[k % 10] = 0.91;
  return { digit, scores };
}

const context = (k: number) => ({
  model: "mnist",
  version: 3,
  device: `10.0.0.${k % 4}`,
  scores: sample(k).scores,
});

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-capture-" });
  try {
    await fn(`${dir}/captures`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sample:1 keeps every digit, with its prediction, version, device, scores and time", async () => {
  await withDir(async (dir) => {
    const capture = await DigitCapture.open({ dir, rule: "sample:1", flushMs: 60_000 });
    for (let k = 0; k < 50; k++) assert.equal(capture.offer(sample(k).digit, context(k)), true);
    // Nothing touches the disk on the request path: the lines wait for the flush.
    assert.deepEqual(await captureFiles(dir), []);
    await capture.close();
    assert.equal(capture.offer(sample(0).digit, context(0)), false, "closed");
    const records = await Array.fromAsync(readCaptures(dir));
    assert.equal(records.length, 50);
    assert.equal(new Set(records.map((r) => r.id)).size, 50);
    records.forEach((r, k) => {
      assert.equal(r.prediction, k % 10);
      assert.equal(r.confidence, 0.91);
      assert.equal(r.reason, "sample");
      assert.deepEqual(Object.keys(r.scores!), ["3"]);
      assert.equal(r.scores!["3"][k % 10], 0.91);
      assert.equal(r.shadow, undefined);
      assert.equal(r.model, "mnist");
      assert.equal(r.version, 3);
      assert.equal(r.device, `10.0.0.${k % 4}`);
      assert.ok(Math.abs(Date.parse(r.time) - Date.now()) < 3_600_000);
      const pixels = capturePixels(r);
      const original = sample(k).digit;
      for (let i = 0; i < 784; i++) assert.ok(Math.abs(pixels[i] - original[i]) < 1e-6);
    });
  });
});

Deno.test("sample:0 keeps nothing; a bad rule or folder is refused at open, in one sentence", async () => {
  await withDir(async (dir) => {
    const capture = await DigitCapture.open({ dir, rule: "sample:0" });
    for (let k = 0; k < 100; k++) assert.equal(capture.offer(sample(k).digit, context(k)), false);
    await capture.close();
    assert.deepEqual(await captureFiles(dir), []);
    await assert.rejects(DigitCapture.open({ dir, rule: "sample:1.5" }), CaptureRuleError);
    await assert.rejects(
      DigitCapture.open({ dir: "/proc/no-such-folder/captures", rule: "sample:1" }),
      (e: Error) =>
        e instanceof CaptureError &&
        /^the capture folder \/proc\/no-such-folder\/captures cannot be made or read: /.test(
          e.message,
        ),
    );
  });
});

Deno.test("sample:0.5 keeps about half", async () => {
  await withDir(async (dir) => {
    const capture = await DigitCapture.open({
      dir,
      rule: "sample:0.5",
      flushMs: 60_000,
      random: prng(7),
    });
    let kept = 0;
    for (let k = 0; k < 2000; k++) if (capture.offer(sample(k).digit, context(k))) kept++;
    await capture.close();
    // 1,000 expected, standard deviation 22: these bounds are 9 deviations out.
    assert.ok(kept > 800 && kept < 1200, `${kept} of 2000`);
    assert.equal((await Array.fromAsync(readCaptures(dir))).length, kept);
  });
});

Deno.test("below:C keeps exactly the answers scored under C", async () => {
  await withDir(async (dir) => {
    const capture = await DigitCapture.open({ dir, rule: "below:0.6", flushMs: 60_000 });
    const confidences = [0.2, 0.59, 0.6, 0.61, 0.99];
    for (const [k, confidence] of confidences.entries()) {
      const scores = new Float32Array(10).fill((1 - confidence) / 9);
      scores[k] = confidence;
      capture.offer(sample(k).digit, { ...context(k), scores });
    }
    await capture.close();
    const records = await Array.fromAsync(readCaptures(dir));
    assert.deepEqual(records.map((r) => [r.prediction, r.reason]), [[0, "below"], [1, "below"]]);
  });
});

Deno.test("disagree keeps what a shadow answered otherwise, with both versions' scores", async () => {
  await withDir(async (dir) => {
    const capture = await DigitCapture.open({ dir, rule: "disagree", flushMs: 60_000 });
    const agreeing = { version: 4, scores: sample(1).scores };
    const disagreeing = { version: 4, scores: sample(2).scores };
    assert.equal(capture.offer(sample(1).digit, context(1)), false, "no shadow compared it");
    assert.equal(capture.offer(sample(1).digit, { ...context(1), shadow: agreeing }), false);
    assert.equal(capture.offer(sample(1).digit, { ...context(1), shadow: disagreeing }), true);
    await capture.close();
    const [record] = await Array.fromAsync(readCaptures(dir));
    assert.equal(record.reason, "disagree");
    assert.equal(record.shadow, 4);
    assert.equal(record.version, 3);
    assert.equal(record.prediction, 1);
    assert.deepEqual(Object.keys(record.scores!).sort(), ["3", "4"]);
    assert.equal(record.scores!["3"][1], 0.91);
    assert.equal(record.scores!["4"][2], 0.91);
  });
});

Deno.test("files rotate and the oldest go past the cap, counting files from earlier runs", async () => {
  await withDir(async (dir) => {
    const first = await DigitCapture.open({
      dir,
      rule: "sample:1",
      flushMs: 60_000,
      maxBytes: 30_000,
    });
    for (let k = 0; k < 5; k++) first.offer(sample(k).digit, context(k));
    await first.close();
    const earlier = await captureFiles(dir);
    assert.equal(earlier.length, 1);

    const capture = await DigitCapture.open({
      dir,
      rule: "sample:1",
      flushMs: 60_000,
      maxBytes: 30_000,
      fileBytes: 6_000,
    });
    const ids: string[] = [];
    for (let k = 0; k < 100; k++) {
      capture.offer(sample(k).digit, context(k));
      if (k % 4 === 3) await capture.flush();
    }
    await capture.close();
    const files = await captureFiles(dir);
    let total = 0;
    for (const f of files) total += (await Deno.stat(f)).size;
    assert.ok(total <= 30_000, `${total} bytes on disk`);
    assert.ok(files.length > 2, `${files.length} files`);
    assert.ok(!files.includes(earlier[0]), "the earlier run's file went first");
    for await (const r of readCaptures(dir)) ids.push(r.id);
    // The newest digits are the ones kept.
    assert.match(ids.at(-1)!, /-100$/);
    assert.ok(ids.length < 100);
  });
});

Deno.test("a failing disk drops digits with a log line, and never throws at the caller", async () => {
  await withDir(async (dir) => {
    const lines: string[] = [];
    const capture = await DigitCapture.open({
      dir,
      rule: "sample:1",
      flushMs: 60_000,
      log: new Logger("warn", (line) => lines.push(line)),
    });
    await Deno.remove(dir, { recursive: true });
    for (let k = 0; k < 3; k++) capture.offer(sample(k).digit, context(k));
    await capture.close();
    assert.equal(capture.dropped, 3);
    assert.equal(capture.captured, 0);
    assert.match(lines.join("\n"), /capture write failed; digits dropped/);
  });
});

Deno.test("a line cut short by a crash is skipped when reading", async () => {
  await withDir(async (dir) => {
    const capture = await DigitCapture.open({ dir, rule: "sample:1", flushMs: 60_000 });
    for (let k = 0; k < 3; k++) capture.offer(sample(k).digit, context(k));
    await capture.close();
    const [file] = await captureFiles(dir);
    await Deno.writeTextFile(file, '{"id":"cut-1","time":"2026', { append: true });
    const records = await Array.fromAsync(readCaptures(dir));
    assert.equal(records.length, 3);
  });
});

/** What a shadow comparison tells: serving said `served`, the candidate `candidate`. */
function shadowEvent(k: number, served: number, candidate: number): ShadowEvent {
  const answer = (version: number, digit: number) => {
    const scores = sample(digit).scores;
    return { version, scores, predicted: digit };
  };
  return {
    model: "mnist",
    deviceId: "kitchen",
    digitU8: null,
    digit: sample(k).digit,
    serving: answer(3, served),
    candidate: answer(4, candidate),
    agree: served === candidate,
  };
}

Deno.test("a shadow's answer joins a kept digit's record, or keeps a disagreement", async () => {
  await withDir(async (dir) => {
    const capture = await DigitCapture.open({ dir, rule: "below:0.95,disagree", flushMs: 60_000 });
    // Digit 0 is kept as unsure when answered; the shadow, later, agrees: its scores join.
    assert.equal(capture.offer(sample(0).digit, context(0)), true);
    assert.equal(capture.shadowed(shadowEvent(0, 0, 0)), true);
    // Digit 21 is not kept when answered (below is not asked of it here), the shadow disagrees.
    assert.equal(capture.shadowed(shadowEvent(21, 1, 7)), true);
    // An agreement about a digit nobody kept is not kept.
    assert.equal(capture.shadowed(shadowEvent(22, 2, 2)), false);
    await capture.flush();
    // Once written, a record takes no more scores; the disagreement is kept on its own.
    assert.equal(capture.offer(sample(5).digit, context(5)), true);
    await capture.flush();
    assert.equal(capture.shadowed(shadowEvent(5, 5, 5)), false);
    await capture.close();
    const records = await Array.fromAsync(readCaptures(dir));
    assert.deepEqual(
      records.map((r) => [r.reason, r.device, r.shadow, Object.keys(r.scores!)]),
      [
        ["below", "10.0.0.0", 4, ["3", "4"]],
        ["disagree", "kitchen", 4, ["3", "4"]],
        ["below", "10.0.0.1", undefined, ["3"]],
      ],
    );
    assert.equal(records[1].prediction, 1);
    assert.equal(records[1].scores!["4"][7], 0.91);
  });
});

Deno.test("past maxPending records wait for the disk no more: they are dropped and counted", async () => {
  await withDir(async (dir) => {
    const capture = await DigitCapture.open({
      dir,
      rule: "sample:1",
      flushMs: 60_000,
      maxPending: 5,
    });
    let kept = 0;
    for (let k = 0; k < 8; k++) if (capture.offer(sample(k).digit, context(k))) kept++;
    assert.equal(kept, 5);
    assert.equal(capture.dropped, 3);
    await capture.close();
    assert.equal((await Array.fromAsync(readCaptures(dir))).length, 5);
  });
});
