import assert from "node:assert/strict";
import { Status } from "../../shared/errors.ts";
import type { RequestEvent } from "../core/request.ts";
import type { Inference } from "../engine/job.ts";
import { requestFromHandler } from "./from_handler.ts";

const base: RequestEvent = {
  protocol: "framed",
  peer: "10.0.0.7:5000",
  command: 1,
  requestId: 3,
  status: Status.OK,
  code: "OK",
  error: "",
  digitU8: null,
  digit: null,
  digits: 0,
  results: null,
  predicted: null,
  scores: null,
  modelName: "",
  queueMs: null,
  inferenceMs: null,
  batchSize: null,
  modelVersion: null,
  totalMs: 0.5,
  device: null,
  deviceId: "addr:10.0.0.7",
  identifiedBy: "address",
  firmware: "",
  bytesIn: 0,
  bytesOut: 0,
  token: "",
  model: "",
  client: "",
  label: "",
};

function answer(predicted: number, version = 1): Inference {
  const scores = new Float32Array(10);
  scores[predicted] = 0.9;
  return { scores, predicted, inferenceMs: 0.2, queueMs: 0.1, batchSize: 1, modelVersion: version };
}

Deno.test("a served inference: one digit, its sample, timings, model and version", () => {
  const result = answer(7, 2);
  const e = requestFromHandler({
    ...base,
    digitU8: new Uint8Array(784),
    digits: 1,
    results: [result],
    predicted: 7,
    scores: result.scores,
    modelName: "mnist",
    modelVersion: 2,
    queueMs: 0.1,
    inferenceMs: 0.2,
    client: "",
    firmware: "fw/1.0",
    deviceId: "5ccf7f0a1b2c",
    identifiedBy: "device",
    bytesIn: 792,
    bytesOut: 100,
  });
  assert.equal(e.inference, true);
  assert.equal(e.digits, 1);
  assert.equal(e.computeMs, 0.2);
  assert.equal(e.client, "fw/1.0", "the connection's firmware, though this request sent none");
  assert.equal(e.deviceId, "5ccf7f0a1b2c");
  assert.equal(e.model, "mnist");
  assert.equal(e.version, 2);
  assert.ok(Math.abs(e.samples![0].score - 0.9) < 1e-6);
  assert.equal(e.bytesIn, 792);
});

Deno.test("a job of many digits: every digit counts, the last 16 are samples with their own pixels", () => {
  const digits = 20;
  const digitU8 = new Uint8Array(digits * 784).map((_, i) => Math.floor(i / 784));
  const results = Array.from({ length: digits }, (_, i) => answer(i % 10));
  const e = requestFromHandler({
    ...base,
    protocol: "http",
    digitU8,
    digits,
    results,
    predicted: 0,
    scores: results[0].scores,
    modelName: "mnist",
    modelVersion: 1,
    label: "req-9",
  });
  assert.equal(e.digits, 20);
  assert.equal(e.id, "req-9");
  assert.equal(e.samples!.length, 16);
  assert.equal(e.samples![0].predicted, 4 % 10);
  assert.equal(e.samples![0].digitU8![0], 4);
  assert.equal(e.samples![15].digitU8![783], 19);
});

Deno.test("stats are not inferences; refusals carry their sentence and no digit", () => {
  const stats = requestFromHandler({ ...base, command: 0 });
  assert.equal(stats.inference, false);
  assert.equal(stats.digits, 0);
  const busy = requestFromHandler({
    ...base,
    status: Status.SERVER_BUSY,
    code: "SERVER_BUSY",
    error: "queue full",
    digitU8: new Uint8Array(784),
    digits: 1,
  });
  assert.equal(busy.inference, true);
  assert.equal(busy.digits, 0);
  assert.equal(busy.error, "queue full");
  assert.equal(busy.samples, undefined);
  assert.equal(busy.client, null);
});
