import assert from "node:assert/strict";
import { merge, splitClients } from "./pool.ts";
import type { LoadResult } from "./load_record.ts";

Deno.test("clients split into contiguous shares that differ by at most one", () => {
  assert.deepEqual(splitClients(5, 2), [
    { clients: 2, firstClient: 0 },
    { clients: 3, firstClient: 2 },
  ]);
  assert.deepEqual(splitClients(1, 3).map((s) => s.clients), [0, 0, 1]);
  assert.equal(splitClients(2000, 3).reduce((n, s) => n + s.clients, 0), 2000);
});

function record(originMs: number, starts: number[], errors: Record<string, number>): LoadResult {
  const n = starts.length;
  return {
    count: n,
    latencyMs: Float64Array.from(starts, () => 1),
    startMs: Float64Array.from(starts),
    status: new Int16Array(n),
    inferenceMs: new Float32Array(n),
    queueMs: new Float32Array(n),
    batchSize: new Uint16Array(n),
    correct: new Int8Array(n),
    errors,
    originMs,
    elapsedMs: 5,
    cpuNs: 2e6,
  };
}

Deno.test("merge puts every runner's start times on one clock and adds up errors", () => {
  const merged = merge(
    [record(1000, [0, 1], { TIMEOUT: 1 }), record(1002.5, [0], { TIMEOUT: 2, SERVER_BUSY: 1 })],
    1000.5,
    7,
    3,
    2,
  );
  assert.equal(merged.count, 3);
  assert.deepEqual(Array.from(merged.startMs), [-0.5, 0.5, 2]);
  assert.deepEqual(merged.errors, { TIMEOUT: 3, SERVER_BUSY: 1 });
  assert.deepEqual(merged.workerCpuMs, [2, 2]);
  assert.equal(merged.processCpuMs, 3);
});
