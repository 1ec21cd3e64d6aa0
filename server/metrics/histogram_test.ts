import assert from "node:assert/strict";
import { Histogram, Registry } from "prom-client";
import { CountedHistogram } from "./histogram.ts";

const BUCKETS = [0.001, 0.01, 0.1, 1];
// On a bound (counted there), between bounds, past the last bound, zero.
const VALUES = [0.001, 0.004, 0.3, 7, 0, 0.01, 0.05];

Deno.test("a counted histogram exposes the text prom-client's Histogram does, labelled and not", async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const labelled = new CountedHistogram({
    name: "latency_seconds",
    help: "Latency",
    buckets: BUCKETS,
    labelName: "protocol",
    registers: [ours],
  });
  const plain = new CountedHistogram({
    name: "queue_seconds",
    help: "Queue",
    buckets: BUCKETS,
    registers: [ours],
  });
  const reference = new Histogram({
    name: "latency_seconds",
    help: "Latency",
    buckets: BUCKETS,
    labelNames: ["protocol"],
    registers: [theirs],
  });
  const plainReference = new Histogram({
    name: "queue_seconds",
    help: "Queue",
    buckets: BUCKETS,
    registers: [theirs],
  });
  assert.equal(await ours.metrics(), await theirs.metrics()); // nothing observed yet
  for (const [i, v] of VALUES.entries()) {
    const protocol = i % 3 === 0 ? "http" : "framed";
    labelled.labels(protocol).observe(v);
    reference.labels(protocol).observe(v);
    plain.observe(v);
    plainReference.observe(v);
  }
  const text = await ours.metrics();
  assert.equal(text, await theirs.metrics());
  assert.match(text, /latency_seconds_bucket\{le="0.001",protocol="http"\} 1\n/);
  assert.match(text, /queue_seconds_bucket\{le="\+Inf"\} 7\n/);
});
