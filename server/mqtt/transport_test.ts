/**
 * The MQTT transport against a real Mosquitto and the real server (in this
 * process): replies with their request ids on the result topic or an MQTT 5
 * response topic, errors on the result topic, a flooding device beside a
 * quiet one, tokens, metrics and the dashboard, a broker restart, and
 * SIGTERM's unsubscribe-then-answer.
 */
import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { type DecodedReply, decodeReply } from "../../shared/reply_codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { Authorizer } from "../auth/authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "../auth/tokens.ts";
import { Logger } from "../log.ts";
import { type ServerOptions } from "../options.ts";
import { startServer } from "../server.ts";
import { type InferenceServer } from "../inference_server.ts";
import { Mosquitto, requireMqtt } from "../testing/mosquitto.ts";
import { MqttDevice } from "../testing/mqtt_device.ts";
import { recordingLogger } from "../testing/server.ts";
import { loadMqtt } from "./library.ts";
import { PACKET_HEADROOM } from "./transport.ts";
import { until } from "../testing/until.ts";

const ignore = requireMqtt();
const digitU8 = new Uint8Array(784).fill(0);
const QUIET = new Logger("error", () => {});

async function mqttServer(
  broker: Mosquitto,
  options: ServerOptions = {},
): Promise<InferenceServer> {
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: QUIET,
    mqtt: { url: broker.url, group: "mnist" },
    ...options,
  });
  await until(
    () => server.mqtt!.state().connected,
    "the server's MQTT client connected",
  );
  return server;
}

async function withBroker(
  fn: (broker: Mosquitto) => Promise<void>,
): Promise<void> {
  const broker = await Mosquitto.start();
  try {
    await fn(broker);
  } finally {
    await broker.stop();
  }
}

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

Deno.test({
  name:
    "a broker restart: servers and devices reconnect by themselves, one log line per outage, later requests answered",
  ignore,
  fn: () =>
    withBroker(async (broker) => {
      const recorded = recordingLogger("info");
      const servers = [
        await mqttServer(broker, { log: recorded.log }),
        await mqttServer(broker),
      ];
      const devices = await Promise.all(
        Array.from({ length: 10 }, (_, i) => MqttDevice.connect(broker.url, `dev-${i}`)),
      );
      try {
        await Promise.all(devices.map((d) => d.request({ digitU8, qos: 1 })));
        await broker.kill();
        await until(
          () => servers.every((s) => !s.mqtt!.state().connected),
          "every server disconnected from the broker",
        );
        // Away for a while: several reconnect attempts fail, and still one line says so.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        assert.equal(
          servers[0].ready(),
          true,
          "readiness does not depend on the broker",
        );
        await broker.restart();
        await until(
          () => servers.every((s) => s.mqtt!.state().connected),
          "every server connected again",
        );
        await until(
          () => devices.every((d) => d.client.connected),
          "every device connected again",
        );
        const replies = await Promise.all(
          devices.map((d) => d.request({ digitU8, qos: 1 })),
        );
        assert.ok(replies.every((r) => r.status === Status.OK));
        const away = recorded.lines.filter((l) => l.includes("MQTT broker unreachable"));
        assert.equal(away.length, 1, recorded.lines.join("\n"));
        assert.equal(
          recorded.lines.filter((l) => l.includes("reachable again")).length,
          1,
        );
        assert.equal(servers[0].mqtt!.state().outages, 1);
        const metrics = await servers[0].monitor.metrics.registry.metrics();
        assert.match(metrics, /mnist_mqtt_outages_total\{broker="[^"]+"\} 1/);
      } finally {
        for (const device of devices) device.close();
        await Promise.all(servers.map((s) => s.shutdown()));
      }
    }),
});

Deno.test({
  name: "shutdown unsubscribes first, then answers what is in flight",
  ignore,
  fn: () =>
    withBroker(async (broker) => {
      const server = await mqttServer(broker);
      const device = await MqttDevice.connect(broker.url, "late");
      try {
        const sent = Array.from(
          { length: 400 },
          () =>
            device.request({
              digitU8,
              qos: 1,
              retryMs: 60_000,
              timeoutMs: 8_000,
            }),
        );
        await until(
          () => server.mqtt!.state().inFlight > 0,
          "a request in flight",
        );
        await server.shutdown();
        // Every request the server took was answered before it disconnected.
        const taken = server.monitor.snapshot().requestsTotal;
        const answered = (await Promise.allSettled(sent)).filter((r) => r.status === "fulfilled");
        assert.ok(taken > 0);
        assert.equal(answered.length, taken);
        assert.equal(server.mqtt!.state().inFlight, 0);
        // Unsubscribed and gone: a request now waits for another server of the group.
        await assert.rejects(
          device.request({ digitU8, qos: 0, timeoutMs: 500 }),
          /had no reply/,
        );
      } finally {
        device.close();
      }
    }),
});
