import assert from "node:assert/strict";
import { TrafficWindow } from "./window.ts";

Deno.test("rates, percentiles, errors and batches cover the last 10 seconds only", () => {
  let now = 5_000;
  const window = new TrafficWindow(10, () => now);
  for (let i = 1; i <= 100; i++) window.request(i, i <= 3 ? "SERVER_BUSY" : "OK", i <= 3 ? 0 : 1);
  window.run(8);
  window.run(8);
  window.run(2);
  let s = window.summary();
  assert.equal(s.requests, 0, "the second under way is not counted yet");
  now += 1_000;
  s = window.summary();
  assert.equal(s.requests, 100);
  assert.equal(s.requestsPerSecond, 10);
  assert.equal(s.digitsPerSecond, 9.7);
  // Buckets are 2% wide: the 50th of 1..100 ms is 50 within 2%.
  assert.ok(Math.abs(s.p50Ms! - 50) / 50 <= 0.02, `p50 ${s.p50Ms}`);
  assert.ok(Math.abs(s.p99Ms! - 99) / 99 <= 0.02, `p99 ${s.p99Ms}`);
  assert.deepEqual(s.errors, { SERVER_BUSY: 3 });
  assert.equal(s.meanBatch, 6);
  assert.deepEqual(s.batchSizes, { "8": 2, "2": 1 });

  now += 8_000; // 9 s later: still inside
  window.request(0.5, "OK", 1);
  now += 1_000;
  s = window.summary();
  assert.equal(s.requests, 101);
  now += 1_000; // the first second leaves the window
  s = window.summary();
  assert.equal(s.requests, 1);
  assert.deepEqual(s.errors, {});
  assert.equal(s.meanBatch, null);
  now += 20_000;
  s = window.summary();
  assert.equal(s.requests, 0);
  assert.equal(s.p50Ms, null);
});
