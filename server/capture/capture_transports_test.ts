// `--capture` hangs on the one request path's observers: a digit sent over
// the framed board port, HTTP and MQTT is kept alike, under its device's fleet
// id, with the scores of the version that answered it; a shadow's
// disagreements are kept with both versions' scores.
import assert from "node:assert/strict";
import { oipInfer } from "../../client/oip.ts";
import { InferenceClient } from "../../client/client.ts";
import { Command } from "../../shared/codec.ts";
import { Status } from "../../shared/errors.ts";
import { Logger } from "../log.ts";
import { startServer } from "../server.ts";
import { Mosquitto, requireMqtt } from "../testing/mosquitto.ts";
import { MqttDevice } from "../testing/mqtt_device.ts";
import { ADMIN, api, MODELS, repositoryOf } from "../testing/rollout.ts";
import { until } from "../testing/until.ts";
import { type CaptureRecord, readCaptures } from "./capture_read.ts";
import { DigitCapture } from "./capture.ts";

const noMqtt = requireMqtt();

/** A digit whose pixels say which transport sent it. */
function digit(mark: number): Uint8Array {
  const bytes = new Uint8Array(784);
  for (let i = 0; i < 784; i += 7) bytes[i] = mark;
  return bytes;
}
const FRAMED = 101, HTTP = 102, MQTT = 103;

Deno.test("framed, HTTP and MQTT digits are captured alike, under their device ids", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-capture-transports-" });
  const broker = noMqtt ? null : await Mosquitto.start();
  const capture = await DigitCapture.open({ dir, rule: "sample:1", flushMs: 60_000 });
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("error", () => {}),
    capture,
    ...(broker ? { mqtt: { url: broker.url, group: "mnist" } } : {}),
  });
  try {
    const board = await InferenceClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const reply = await board.send({
      command: Command.INFERENCE_INPUT,
      digitU8: digit(FRAMED),
      device: "board-7",
    });
    board.close();
    assert.equal(reply.status, Status.OK);
    const http = await oipInfer(`http://127.0.0.1:${server.http!.addr.port}`, [digit(HTTP)]);
    assert.equal(http.status, 200);
    if (broker) {
      await until(() => server.mqtt!.state().connected, "the server's MQTT client connected");
      const device = await MqttDevice.connect(broker.url, "kitchen");
      try {
        assert.equal((await device.request({ digitU8: digit(MQTT) })).status, Status.OK);
      } finally {
        device.close();
      }
    }
  } finally {
    await server.shutdown();
    await capture.close();
    await broker?.stop();
  }
  try {
    const byMark = new Map<number, CaptureRecord>();
    for await (const record of readCaptures(dir)) {
      const first = atob(record.pixels).charCodeAt(0);
      byMark.set(first, record);
    }
    const expected: [number, RegExp][] = [[FRAMED, /^board-7$/], [HTTP, /^addr:127\.0\.0\.1/]];
    if (broker) expected.push([MQTT, /^kitchen$/]);
    assert.equal(byMark.size, expected.length, [...byMark.values()].map((r) => r.device).join());
    for (const [mark, device] of expected) {
      const record = byMark.get(mark);
      assert.ok(record, `digit ${mark} captured`);
      assert.match(record.device, device);
      assert.equal(record.model, "mnist");
      assert.equal(record.version, 1);
      assert.equal(record.reason, "sample");
      assert.equal(record.scores!["1"].length, 10);
      assert.equal(record.scores!["1"][record.prediction], record.confidence);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a shadow's disagreements are captured through the server, with both versions' scores", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-capture-shadow-" });
  const root = await repositoryOf({
    1: { model: MODELS.bundled },
    2: { model: MODELS.dense, stage: "candidate" },
  });
  const capture = await DigitCapture.open({ dir, rule: "disagree", flushMs: 60_000 });
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("error", () => {}),
    modelRepository: root,
    adminToken: ADMIN,
    capture,
  });
  let compared = 0, agreed = 0;
  try {
    const started = await api(server, "POST", "/v2/models/mnist/shadow", {
      version: 2,
      sample: 1,
    });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const board = await InferenceClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
    for (let mark = 1; mark <= 20; mark++) {
      const reply = await board.send({
        command: Command.INFERENCE_INPUT,
        digitU8: digit(mark * 12),
        device: "board-9",
      });
      assert.equal(reply.modelVersion, 1, "a candidate in shadow answers nobody");
    }
    board.close();
    await until(async () => {
      const figures = (await api(server, "GET", "/v2/models/mnist/shadow")).body;
      compared = figures.compared;
      agreed = Math.round(figures.agreement * figures.compared);
      return figures.compared + figures.dropped + figures.failed === 20;
    }, "the shadow's 20 digits accounted for");
  } finally {
    await server.shutdown();
    await capture.close();
    await Deno.remove(root, { recursive: true });
  }
  try {
    const records = await Array.fromAsync(readCaptures(dir));
    assert.ok(compared - agreed > 0, "the dense candidate disagrees with the bundled model");
    assert.equal(records.length, compared - agreed);
    for (const record of records) {
      assert.equal(record.reason, "disagree");
      assert.equal(record.device, "board-9");
      assert.equal(record.shadow, 2);
      assert.equal(record.version, 1);
      const [served, candidate] = [record.scores!["1"], record.scores!["2"]];
      assert.equal(served.indexOf(Math.max(...served)), record.prediction);
      assert.notEqual(candidate.indexOf(Math.max(...candidate)), record.prediction);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
