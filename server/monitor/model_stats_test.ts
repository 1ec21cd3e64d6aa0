// The statistics extension's figures, checked against Triton's document
// (docs/protocol/extension_statistics.md): its field names, and its examples of counting
// (a request of batch 64 adds 64 to inference_count; 64 requests of one digit batched into one
// run add 1 to execution_count).
import assert from "node:assert/strict";
import { ModelStats } from "./model_stats.ts";

const ok = (digits: number, ns = 1_000) => ({
  ok: true,
  digits,
  queueNs: ns / 10,
  computeNs: ns / 2,
  totalNs: ns,
});

Deno.test("the document's field names, every one and no other", () => {
  const stats = new ModelStats({ now: () => 1_700_000_000_123 });
  stats.run("mnist", 1, 4, 900);
  stats.request("mnist", 1, ok(4));
  const doc = stats.toJson("mnist")!;
  assert.deepEqual(Object.keys(doc), ["model_stats"]);
  const stat = doc.model_stats[0];
  const keys = (o: object) => Object.keys(o).sort();
  assert.deepEqual(keys(stat), [
    "batch_stats",
    "execution_count",
    "inference_count",
    "inference_stats",
    "last_inference",
    "name",
    "version",
  ]);
  assert.deepEqual(keys(stat.inference_stats), [
    "cache_hit",
    "compute_infer",
    "compute_input",
    "compute_output",
    "fail",
    "queue",
    "success",
  ]);
  for (const duration of Object.values(stat.inference_stats)) {
    assert.deepEqual(keys(duration), ["count", "ns"]);
  }
  assert.deepEqual(keys(stat.batch_stats[0]), [
    "batch_size",
    "compute_infer",
    "compute_input",
    "compute_output",
  ]);
  assert.equal(stat.name, "mnist");
  assert.equal(stat.version, "1", "the version is a string");
  assert.equal(stat.last_inference, 1_700_000_000_123, "ms since the epoch");
});

Deno.test("inference_count counts digits, execution_count engine runs, as the document's examples", () => {
  const stats = new ModelStats();
  // One request of batch 64.
  stats.run("mnist", "1", 64, 5_000_000);
  stats.request("mnist", "1", ok(64, 6_000_000));
  // 64 requests of one digit, batched into one run.
  stats.run("mnist", "1", 64, 4_000_000);
  for (let i = 0; i < 64; i++) stats.request("mnist", "1", ok(1, 1_000));
  const [stat] = stats.toJson("mnist", "1")!.model_stats;
  assert.equal(stat.inference_count, 128);
  assert.equal(stat.execution_count, 2);
  const s = stat.inference_stats;
  assert.deepEqual(s.success, { count: 65, ns: 6_000_000 + 64 * 1_000 });
  assert.deepEqual(s.queue, { count: 65, ns: 600_000 + 64 * 100 });
  assert.deepEqual(s.compute_infer, { count: 65, ns: 3_000_000 + 64 * 500 });
  assert.deepEqual(s.compute_input, { count: 65, ns: 0 });
  assert.deepEqual(s.compute_output, { count: 65, ns: 0 });
  assert.deepEqual(s.fail, { count: 0, ns: 0 });
  assert.deepEqual(s.cache_hit, { count: 0, ns: 0 });
  assert.deepEqual(stat.batch_stats, [{
    batch_size: 64,
    compute_input: { count: 2, ns: 0 },
    compute_infer: { count: 2, ns: 9_000_000 },
    compute_output: { count: 2, ns: 0 },
  }]);
});

Deno.test("a failed request counts in fail only", () => {
  const stats = new ModelStats({ now: () => 5 });
  stats.request("mnist", 2, { ok: false, digits: 8, queueNs: 10, computeNs: 0, totalNs: 2_500.4 });
  const [stat] = stats.toJson("mnist")!.model_stats;
  assert.deepEqual(stat.inference_stats.fail, { count: 1, ns: 2_500 });
  assert.deepEqual(stat.inference_stats.success, { count: 0, ns: 0 });
  assert.equal(stat.inference_count, 0);
  assert.equal(stat.last_inference, 0, "no inference was made");
});

Deno.test("batch_stats has one row per batch size, in order", () => {
  const stats = new ModelStats();
  for (const size of [8, 1, 8, 128, 1, 1]) stats.run("mnist", 1, size, 100);
  assert.deepEqual(
    stats.toJson("mnist")!.model_stats[0].batch_stats.map((b) => [b.batch_size, b.compute_infer]),
    [[1, { count: 3, ns: 300 }], [8, { count: 2, ns: 200 }], [128, { count: 1, ns: 100 }]],
  );
});

Deno.test("versions and models: each apart, unknown ones null (404), forgotten ones gone", () => {
  const stats = new ModelStats();
  stats.track("mnist", 10);
  stats.track("mnist", 2);
  stats.track("other", 1);
  stats.request("mnist", 2, ok(3));
  assert.deepEqual(stats.toJson("mnist")!.model_stats.map((s) => [s.version, s.inference_count]), [
    ["2", 3],
    ["10", 0],
  ]);
  assert.deepEqual(stats.toJson("mnist", "10")!.model_stats.map((s) => s.version), ["10"]);
  assert.equal(stats.toJson("nothing"), null);
  assert.equal(stats.toJson("mnist", "3"), null);
  assert.deepEqual(stats.toJson()!.model_stats.map((s) => `${s.name}/${s.version}`), [
    "mnist/2",
    "mnist/10",
    "other/1",
  ]);
  stats.forget("mnist", 2);
  assert.equal(stats.toJson("mnist", "2"), null);
  stats.forget("mnist", 10);
  assert.equal(stats.toJson("mnist"), null);
  stats.forget("other");
  assert.deepEqual(stats.toJson(), { model_stats: [] });
});

Deno.test("a document handed out does not change with later traffic", () => {
  const stats = new ModelStats();
  stats.request("mnist", 1, ok(1));
  const before = stats.toJson("mnist")!;
  stats.request("mnist", 1, ok(1));
  stats.run("mnist", 1, 2, 10);
  assert.equal(before.model_stats[0].inference_count, 1);
  assert.deepEqual(before.model_stats[0].batch_stats, []);
  assert.equal(stats.toJson("mnist")!.model_stats[0].inference_count, 2);
});
