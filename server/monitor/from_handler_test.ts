import assert from "node:assert/strict";
import { Status } from "../../shared/errors.ts";
import { requestFromHandler } from "./from_handler.ts";

const base = {
  protocol: "framed" as const,
  peer: "10.0.0.7:5000",
  requestId: 3,
  digit: null,
  queueMs: null,
  inferenceMs: null,
  totalMs: 0.5,
  device: null,
  client: "",
  bytesIn: 0,
  bytesOut: 0,
};

Deno.test("a served inference: one digit, its sample and timings", () => {
  const scores = new Float32Array(10);
  scores[7] = 0.9;
  const e = requestFromHandler({
    ...base,
    command: 1,
    status: Status.OK,
    error: "",
    digitU8: new Uint8Array(784),
    predicted: 7,
    scores,
    queueMs: 0.1,
    inferenceMs: 0.2,
    client: "fw/1.0",
    bytesIn: 792,
    bytesOut: 100,
  });
  assert.equal(e.inference, true);
  assert.equal(e.digits, 1);
  assert.equal(e.computeMs, 0.2);
  assert.equal(e.client, "fw/1.0");
  assert.ok(Math.abs(e.samples![0].score - 0.9) < 1e-6);
  assert.equal(e.bytesIn, 792);
});

Deno.test("stats are not inferences; refusals carry their sentence and no digit", () => {
  const stats = requestFromHandler({
    ...base,
    command: 0,
    status: Status.OK,
    error: "",
    digitU8: null,
    predicted: null,
    scores: null,
  });
  assert.equal(stats.inference, false);
  assert.equal(stats.digits, 0);
  const busy = requestFromHandler({
    ...base,
    command: 1,
    status: Status.SERVER_BUSY,
    error: "queue full",
    digitU8: new Uint8Array(784),
    predicted: null,
    scores: null,
  });
  assert.equal(busy.inference, true);
  assert.equal(busy.digits, 0);
  assert.equal(busy.error, "queue full");
  assert.equal(busy.samples, undefined);
  assert.equal(busy.client, null);
});
