/**
 * What a device's request over MQTT gets back, against a real Mosquitto and
 * the real server (in this process): replies with their request ids on the
 * result topic, errors there too (a digit of the wrong length, a payload
 * over --max-frame; one past the broker's packet size is dropped unheard),
 * metrics and the dashboard, SERVER_BUSY for a flooding device beside a
 * quiet one that is served, and UNAUTHORIZED with tokens on.
 */
import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { type DecodedReply, decodeReply } from "../../shared/reply_codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { Authorizer } from "../auth/authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "../auth/tokens.ts";
import { requireMqtt } from "../testing/mosquitto.ts";
import { MqttDevice } from "../testing/mqtt_device.ts";
import { mqttServer, withBroker } from "../testing/mqtt_server.ts";
import { PACKET_HEADROOM } from "./transport.ts";

const ignore = requireMqtt();
const digitU8 = new Uint8Array(784).fill(0);

Deno.test({
  name:
    "replies carry the request id on the result topic; errors too; metrics and dashboard say mqtt",
  ignore,
  fn: () =>
    withBroker(async (broker) => {
      const server = await mqttServer(broker, { maxFrame: 2048 });
      const device = await MqttDevice.connect(broker.url, "kitchen");
      try {
        assert.match(server.describe(), new RegExp(` mqtt=${broker.url}`));
        for (const qos of [0, 1] as const) {
          const reply = await device.request({ digitU8, qos });
          assert.equal(reply.status, Status.OK);
          assert.equal(reply.command, Command.INFERENCE_OUTPUT);
          assert.equal(reply.scores?.length, 10);
        }
        // A digit of the wrong length: its error, with its id, on the result topic.
        const short = encodeRequest(
          {
            command: Command.INFERENCE_INPUT,
            requestId: 900,
            digitU8: new Uint8Array(10),
          },
          true,
        ).subarray(4);
        const bad = await requestWithPayload(device, short, 900);
        assert.equal(bad.status, Status.BAD_DIGIT_LENGTH);
        // Over --max-frame: FRAME_TOO_LARGE, with the id it could read.
        const big = new Uint8Array(4096);
        big.set(
          encodeRequest({
            command: Command.INFERENCE_INPUT,
            requestId: 901,
            digitU8,
          }, true).subarray(4),
        );
        const large = await requestWithPayload(device, big, 901);
        assert.equal(large.status, Status.FRAME_TOO_LARGE);
        // And the device is still served.
        assert.equal((await device.request({ digitU8 })).status, Status.OK);
        // Past the packet size the server told the broker: dropped by the broker, never held
        // here. The next request on the topic is answered, and no reply came for the huge one.
        const huge = new Uint8Array(2048 + PACKET_HEADROOM + 1);
        huge.set(
          encodeRequest({
            command: Command.INFERENCE_INPUT,
            requestId: 902,
            digitU8,
          }, true)
            .subarray(4),
        );
        const heard: number[] = [];
        device.client.on("message", (_topic, bytes) => {
          const reply = decodeReply(bytes);
          if (!(reply instanceof WireError)) heard.push(reply.requestId);
        });
        device.client.publish(`mnist/${device.name}/infer`, huge, { qos: 1 });
        assert.equal((await device.request({ digitU8 })).status, Status.OK);
        assert.ok(
          !heard.includes(902),
          `a reply to the dropped request: ${heard}`,
        );

        const metrics = await server.monitor.metrics.expose();
        assert.match(
          metrics,
          /mnist_requests_total\{protocol="mqtt",status="OK"\} 4/,
        );
        assert.match(
          metrics,
          /mnist_requests_total\{protocol="mqtt",status="FRAME_TOO_LARGE"\} 1/,
        );
        assert.match(
          metrics,
          new RegExp(`mnist_mqtt_connected\\{broker="${broker.url}"\\} 1`),
        );
        const snapshot = server.monitor.snapshot();
        assert.equal(snapshot.mqtt?.connected, true);
        assert.equal(snapshot.mqtt?.group, "mnist");
        const row = snapshot.devices.find((d) => d.id === "kitchen");
        assert.equal(row?.protocol, "mqtt");
      } finally {
        device.close();
        await server.shutdown();
      }
    }),
});

/** Publishes a prepared payload whose request id is `id` and waits for that id's reply. */
function requestWithPayload(
  device: MqttDevice,
  payload: Uint8Array,
  id: number,
) {
  return new Promise<DecodedReply>(
    (resolve) => {
      const listener = (_topic: string, bytes: Uint8Array) => {
        const reply = decodeReply(bytes);
        if (!(reply instanceof WireError) && reply.requestId === id) {
          resolve(reply);
        }
      };
      device.client.on("message", listener);
      device.client.publish(`mnist/${device.name}/infer`, payload, { qos: 1 });
    },
  );
}

Deno.test({
  name:
    "a device flooding its topic gets SERVER_BUSY for its excess; a quiet device beside it is served",
  ignore,
  fn: () =>
    withBroker(async (broker) => {
      const server = await mqttServer(broker, {
        maxQueued: 32,
        minQueueShare: 4,
        batchMs: 0,
      });
      const flooder = await MqttDevice.connect(broker.url, "flooder");
      const quiet = await MqttDevice.connect(broker.url, "quiet");
      try {
        const flood = Array.from({ length: 600 }, () => flooder.request({ digitU8, qos: 0 }));
        await new Promise((resolve) => setTimeout(resolve, 20));
        // A board asks one digit at a time: each finds room beside the flood.
        const replies = [];
        for (let i = 0; i < 3; i++) {
          replies.push(await quiet.request({ digitU8, qos: 0 }));
        }
        assert.deepEqual(replies.map((r) => r.status), [
          Status.OK,
          Status.OK,
          Status.OK,
        ]);
        const flooded = await Promise.all(flood);
        const busy = flooded.filter((r) => r.status === Status.SERVER_BUSY).length;
        assert.ok(busy > 0, "the flooder was never refused");
        assert.equal(
          flooded.filter((r) => r.status === Status.OK).length + busy,
          600,
        );
      } finally {
        flooder.close();
        quiet.close();
        await server.shutdown();
      }
    }),
});

Deno.test({
  name: "tokens on: no token or another device's token gets UNAUTHORIZED on the result topic",
  ignore,
  fn: () =>
    withBroker(async (broker) => {
      const dir = await Deno.makeTempDir({ prefix: "mnist-mqtt-tokens-" });
      const kitchen = newToken();
      const garage = newToken();
      await Deno.writeTextFile(
        `${dir}/tokens`,
        `${tokenLine("kitchen", kitchen)}\n${tokenLine("garage", garage)}\n`,
      );
      const tokens = await DeviceTokens.open(`${dir}/tokens`);
      const server = await mqttServer(broker, {
        auth: new Authorizer({ tokens, legacy: "deny" }),
      });
      const device = await MqttDevice.connect(broker.url, "kitchen");
      try {
        const none = await device.request({ digitU8 });
        assert.equal(none.status, Status.UNAUTHORIZED);
        assert.ok(none.requestId > 0);
        const wrong = await device.request({ digitU8, token: "x".repeat(32) });
        assert.equal(wrong.status, Status.UNAUTHORIZED);
        const other = await device.request({ digitU8, token: garage });
        assert.equal(other.status, Status.UNAUTHORIZED);
        assert.match(other.error, /"garage"'s, not "kitchen"'s/);
        // The token comes before the model, as on the other transports.
        const secret = await device.request({ digitU8, model: "secret" });
        assert.equal(secret.status, Status.UNAUTHORIZED);
        // None of those proved it was kitchen: they count against the broker's address, not it.
        assert.equal(server.monitor.fleet.get("kitchen"), null);
        const ok = await device.request({ digitU8, token: kitchen });
        assert.equal(ok.status, Status.OK);
        const row = server.monitor.fleet.get("kitchen");
        assert.deepEqual([row?.requests, row?.errors, row?.identified_by], [
          1,
          0,
          "token",
        ]);
        // A request that does not decode (no digit) counts against the device its token proves.
        const undecodable = await device.request({
          digitU8,
          payload: encodeRequest(
            { command: Command.INFERENCE_INPUT, requestId: 6, token: kitchen },
            true,
          )
            .subarray(4),
        });
        assert.equal(undecodable.status, Status.BAD_DIGIT_LENGTH);
        assert.equal(server.monitor.fleet.get("kitchen")?.errors, 1);
      } finally {
        device.close();
        await server.shutdown();
        await tokens.close();
        await Deno.remove(dir, { recursive: true });
      }
    }),
});
