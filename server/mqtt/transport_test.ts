/**
 * The MQTT transport's connection to the broker, against a real Mosquitto
 * and the real server (in this process): after a broker restart servers and
 * devices reconnect by themselves with one log line per outage, and
 * SIGTERM's shutdown unsubscribes first, then answers what is in flight.
 */
import assert from "node:assert/strict";
import { Status } from "../../shared/errors.ts";
import { requireMqtt } from "../testing/mosquitto.ts";
import { MqttDevice } from "../testing/mqtt_device.ts";
import { mqttServer, withBroker } from "../testing/mqtt_server.ts";
import { recordingLogger } from "../testing/server.ts";
import { until } from "../testing/until.ts";

const ignore = requireMqtt();
const digitU8 = new Uint8Array(784).fill(0);

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
