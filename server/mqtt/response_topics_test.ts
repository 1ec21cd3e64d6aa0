/**
 * MQTT 5 response topics, against a real Mosquitto and the real server (in
 * this process): a reply goes to the client's response topic with its
 * correlation data; a response topic with a wildcard, of another device or
 * otherwise unfit is refused on the device's own result topic, and a device
 * id the fleet may not key by is refused without a fleet row.
 */
import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { type DecodedReply, decodeReply } from "../../shared/reply_codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { Mosquitto, requireMqtt } from "../testing/mosquitto.ts";
import { MqttDevice } from "../testing/mqtt_device.ts";
import { mqttServer, withBroker } from "../testing/mqtt_server.ts";
import { loadMqtt } from "./library.ts";
import { until } from "../testing/until.ts";

const ignore = requireMqtt();
const digitU8 = new Uint8Array(784).fill(0);

/** An MQTT 5 client of the broker (its own, not a device's), and when it has connected. */
function mqtt5Client(broker: Mosquitto) {
  const mqtt = loadMqtt();
  if (mqtt instanceof Error) throw mqtt;
  const client = mqtt.connect(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  const connected = new Promise<void>((resolve) => client.on("connect", resolve));
  return { client, connected };
}

Deno.test({
  name:
    "a response topic with a wildcard or another device's result topic is refused on the device's own; a refused topic id keeps no fleet row",
  ignore,
  fn: () =>
    withBroker(async (broker) => {
      const server = await mqttServer(broker);
      const { client: alice, connected } = mqtt5Client(broker);
      const bob = await MqttDevice.connect(broker.url, "bob");
      try {
        await connected;
        await new Promise((resolve) => alice.subscribe("mnist/alice/result", { qos: 1 }, resolve));
        const bobHeard: number[] = [];
        bob.client.on("message", (_topic, bytes) => {
          const reply = decodeReply(bytes);
          if (!(reply instanceof WireError)) bobHeard.push(reply.requestId);
        });
        const replies = new Map<number, DecodedReply>();
        alice.on("message", (_topic, bytes) => {
          const reply = decodeReply(bytes);
          if (!(reply instanceof WireError)) {
            replies.set(reply.requestId, reply);
          }
        });
        const ask = (id: number, responseTopic: string) =>
          alice.publish(
            "mnist/alice/infer",
            encodeRequest({
              command: Command.INFERENCE_INPUT,
              requestId: id,
              digitU8,
            }, true)
              .subarray(4),
            { qos: 1, properties: { responseTopic } },
          );
        ask(1, "mnist/bob/result");
        ask(2, "mnist/+/result");
        ask(3, "#");
        ask(4, "r/".repeat(201) + "x");
        ask(5, "$SYS/x");
        await until(() => replies.size === 5, "alice's five replies on her own topic");
        const expected: [number, RegExp][] = [
          [1, /must be the device's own/],
          [2, /without \+ or #/],
          [3, /without \+ or #/],
          [4, /at most 256 characters and 16 levels/],
          [5, /not starting with \$/],
        ];
        for (const [id, pattern] of expected) {
          assert.equal(replies.get(id)?.status, Status.MALFORMED_BUFFER);
          assert.match(replies.get(id)?.error ?? "", pattern);
        }
        // The server stayed connected, and bob heard none of alice's replies and is served.
        assert.equal(server.mqtt!.state().outages, 0);
        assert.deepEqual(bobHeard, [], "bob heard alice's replies");
        assert.equal((await bob.request({ digitU8 })).status, Status.OK);

        // Ids the fleet may not key by: refused, and no row is kept under them.
        for (const id of ["addr:1.2.3.4", "x".repeat(65), "sp ace"]) {
          const odd = await MqttDevice.connect(broker.url, id);
          try {
            const reply = await odd.request({ digitU8 });
            assert.equal(reply.status, Status.MALFORMED_BUFFER);
          } finally {
            odd.close();
          }
        }
        const rows = server.monitor.snapshot().devices.map((d) => d.id);
        assert.ok(
          !rows.some((id) => id === "addr:1.2.3.4" || id.startsWith("xxx") || id === "sp ace"),
          `${rows}`,
        );
      } finally {
        alice.end();
        bob.close();
        await server.shutdown();
      }
    }),
});

Deno.test({
  name: "an MQTT 5 client's reply goes to its response topic with its correlation data",
  ignore,
  fn: () =>
    withBroker(async (broker) => {
      const server = await mqttServer(broker);
      const { client, connected } = mqtt5Client(broker);
      try {
        await connected;
        await new Promise((resolve) => client.subscribe("replies/abc", { qos: 1 }, resolve));
        const got = new Promise<
          { payload: Uint8Array; correlation?: Uint8Array }
        >((resolve) =>
          client.on("message", (_t, payload, packet) =>
            resolve({
              payload,
              correlation: packet.properties?.correlationData,
            }))
        );
        const payload = encodeRequest({
          command: Command.INFERENCE_INPUT,
          requestId: 77,
          digitU8,
        }, true)
          .subarray(4);
        client.publish("mnist/probe-5/infer", payload, {
          qos: 1,
          properties: {
            responseTopic: "replies/abc",
            correlationData: Uint8Array.of(1, 2, 3),
          },
        });
        const { payload: bytes, correlation } = await got;
        const reply = decodeReply(bytes);
        if (reply instanceof WireError) throw new Error(reply.toString());
        assert.equal(reply.requestId, 77);
        assert.equal(reply.status, Status.OK);
        assert.deepEqual([...correlation!], [1, 2, 3]);
      } finally {
        client.end(true);
        await server.shutdown();
      }
    }),
});
