import assert from "node:assert/strict";
import { fakeResult } from "./_fixtures.ts";
import { summarizeStep } from "./results.ts";
import { formatStep, SWEEP_HEADER, sweepRows } from "./step_lines.ts";

const load = {
  clients: 4,
  requests: 1,
  protocol: "framed" as const,
  digits: "u8" as const,
  keepAlive: true,
  garbage: false,
};

Deno.test("a step's summary counts OK replies only in its latency and fairness", () => {
  const result = fakeResult([1, 2, 3, 4, 100], {
    batch: 8,
    status: [0, 0, 0, 0, 5],
    errors: { SERVER_BUSY: 1 },
  });
  const step = summarizeStep(result, load);
  assert.equal(step.attempted, 5);
  assert.equal(step.ok, 4);
  assert.equal(step.failed, 1);
  assert.deepEqual(step.errors, { SERVER_BUSY: 1 });
  assert.equal(step.latency.max, 4);
  assert.equal(step.latency.p50, 2.5);
  assert.equal(step.fairness.maxOverP50, 4 / 2.5);
  assert.equal(step.serverInferenceMs, 0.25);
  assert.equal(step.perSampleInferenceMs, 0.25 / 8);
  assert.equal(step.overhead.p50, 2.25);
  assert.equal(step.batchSize?.mean, 8);
  assert.equal(step.accuracy.known, 4);
  assert.equal(step.accuracy.correct, 3); // the first request is marked wrong
  assert.equal(step.histogram.counts.reduce((a, b) => a + b, 0), 4);
  assert.equal(step.timeline.counts.reduce((a, b) => a + b, 0), 4);
});

Deno.test("elapsed time runs from the start to the last reply; req/s counts OK replies", () => {
  // Requests start at 0, 1, 2 ms and take 10 ms each: the last ends at 12 ms.
  const step = summarizeStep(fakeResult([10, 10, 10]), load);
  assert.equal(step.elapsedMs, 12);
  assert.equal(step.reqPerSec, 250);
});

Deno.test("the steady rate leaves out a slow ramp and drain: the middle 80% of replies", () => {
  // Request i starts at i ms. The first 10 replies trickle in 100 ms apart, the middle 80 arrive
  // one a millisecond from 1,000 ms on, and the last 10 trickle again from 2,000 ms.
  const ends = Array.from(
    { length: 100 },
    (_, i) => i < 10 ? i * 100 + 1 : i < 90 ? 1000 + (i - 10) : 2000 + (i - 90) * 100,
  );
  const result = fakeResult(ends.map((end, i) => end - i));
  const step = summarizeStep(result, { ...load, clients: 10, requests: 10 });
  assert.equal(step.steadyReqPerSec, 1000);
  assert.ok(step.reqPerSec < 40, `whole run ${step.reqPerSec} req/s`);
  assert.match(formatStep(step)[2], /steady: 1,000 req\/s over the middle 80% of replies/);
  assert.ok(Number.isNaN(summarizeStep(fakeResult([1, 2, 3]), load).steadyReqPerSec));
  // 100 clients sending one request each: a burst, no steady state.
  assert.ok(Number.isNaN(summarizeStep(result, { ...load, clients: 100 }).steadyReqPerSec));
});

Deno.test("the printed step starts with the old tool's two lines", () => {
  const step = summarizeStep(fakeResult([1, 2, 3], { batch: 2 }), load, {
    main: 6e6,
    workers: 3e6,
    listeners: 0,
    v8: 0,
    other: 0,
  });
  const lines = formatStep(step);
  assert.match(lines[0], /^Total elapsed time: \d+ ms$/);
  assert.match(lines[1], /^Average server inference time: 0\.250 ms$/);
  assert.ok(lines.some((l) => l.startsWith("errors: none")));
  assert.ok(lines.some((l) => /server: queue ms p50/.test(l)));
  assert.ok(lines.some((l) => /server CPU: event loop 120%/.test(l)));
  assert.equal(sweepRows([step])[0].length, SWEEP_HEADER.length);
});

Deno.test("legacy steps have no queue or batch figures", () => {
  const step = summarizeStep(fakeResult([1, 2]), { ...load, protocol: "legacy", keepAlive: false });
  assert.equal(step.queueMs, null);
  assert.equal(step.batchSize, null);
  assert.equal(step.cpu.server, null);
  assert.ok(!formatStep(step).some((l) => l.startsWith("server")));
});
