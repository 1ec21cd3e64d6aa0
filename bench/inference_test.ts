import assert from "node:assert/strict";
import { UsageError } from "../cli/args.ts";
import { measureInference } from "./inference.ts";
import { parseInferenceArgs } from "./inference_args.ts";
import { bestRate, formatInferenceTable, summarizeCell } from "./inference_report.ts";

Deno.test("a cell's ms per inference is the mean run time over the batch", () => {
  const cell = summarizeCell({
    via: "engine",
    threads: 1,
    instances: 1,
    batch: 8,
    runs: 4,
    runMs: [1, 2, 3, 2],
    wallMs: [2, 2, 4, 4],
  });
  assert.equal(cell.msPerInference, 2 / 8);
  assert.equal(cell.msPerRun, 3);
  assert.equal(cell.p50RunMs, 3);
  assert.equal(cell.samplesPerSec, (8 / 3) * 1000);
  // Two instances side by side at the same run time serve twice the digits.
  const two = summarizeCell({
    via: "engine",
    threads: 1,
    instances: 2,
    batch: 8,
    runs: 4,
    runMs: [1, 2, 3, 2],
    wallMs: [2, 2, 4, 4],
  });
  assert.equal(two.samplesPerSec, 2 * (8 / 3) * 1000);
});

Deno.test("flags: lists, ways and bounds", () => {
  const o = parseInferenceArgs([
    "--via",
    "engine",
    "--threads",
    "1",
    "--batches",
    "1,4",
    "--runs",
    "5",
  ]);
  assert.deepEqual([o.via, o.threads, o.batches, o.runs], [["engine"], [1], [1, 4], 5]);
  const d = parseInferenceArgs([]);
  assert.deepEqual([d.via, d.threads, d.batches, d.runs], [
    ["engine", "direct"],
    [1, 2],
    [1, 8, 32, 128],
    1000,
  ]);
  assert.throws(() => parseInferenceArgs(["--via", "gpu"]), UsageError);
  assert.throws(() => parseInferenceArgs(["--runs", "0"]), UsageError);
});

Deno.test("both ways time the real model and report loads and rates", async () => {
  const report = await measureInference({
    via: ["engine", "direct"],
    threads: [1],
    batches: [1, 4],
    runs: 3,
    warmup: 1,
  });
  assert.deepEqual(
    report.cells.map((c) => [c.via, c.batch, c.runs]),
    [["engine", 1, 3], ["engine", 4, 3], ["direct", 1, 3], ["direct", 4, 3]],
  );
  assert.ok(report.cells.every((c) => c.msPerInference > 0 && c.samplesPerSec > 0));
  assert.deepEqual(report.loads.map((l) => l.via), ["file", "engine", "direct"]);
  assert.match(report.runtime, /^onnxruntime-web \d/);
  assert.ok(bestRate(report));
  assert.match(formatInferenceTable(report), /Average inference time after 3 runs/);
  // Two engines side by side: each makes its runs, the cell counts them all.
  const pair = await measureInference({
    via: ["engine"],
    threads: [1],
    instances: [2],
    batches: [4],
    runs: 3,
    warmup: 1,
  });
  assert.deepEqual(pair.cells.map((c) => [c.instances, c.batch, c.runs]), [[2, 4, 6]]);
});
