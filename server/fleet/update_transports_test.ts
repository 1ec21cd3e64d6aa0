// Board code updates on every board transport: an MQTT board gets its offer
// on its result topic and fetches a chunk the same way, and a framed board
// connected before a rollout starts is offered it, in process and through
// listener Workers.
import assert from "node:assert/strict";
import { Status } from "../../shared/errors.ts";
import { Command } from "../../shared/codec.ts";
import { encodeRequest, type Request } from "../../shared/request_codec.ts";
import { InferenceClient } from "../../client/client.ts";
import { NAME } from "../testing/releases.ts";
import { Mosquitto, requireMqtt } from "../testing/mosquitto.ts";
import { MqttDevice } from "../testing/mqtt_device.ts";
import { CODE, OLD, RELEASE, withUpdates } from "../testing/code_updates.ts";
import { until } from "../testing/until.ts";

Deno.test({
  name:
    "an MQTT board gets its offer on its result topic, after the request that named its firmware, and fetches a chunk the same way",
  ignore: requireMqtt(),
  async fn() {
    const broker = await Mosquitto.start();
    try {
      await withUpdates({ mqtt: { url: broker.url, group: "mnist" } }, async (server) => {
        await until(() => server.mqtt!.state().connected, "the server's MQTT client connected");
        const device = await MqttDevice.connect(broker.url, "attic");
        try {
          const payload = (request: Request) => encodeRequest(request, true).subarray(4);
          const digitU8 = new Uint8Array(784);
          // The firmware names itself on its first request after it connects, before any rollout.
          const first = await device.request({
            digitU8,
            payload: payload({
              command: Command.INFERENCE_INPUT,
              requestId: 1,
              digitU8,
              client: `${NAME} ${OLD}`,
            }),
          });
          assert.equal(first.status, Status.OK);
          assert.equal(first.update, null);
          server.updates.start({ release: RELEASE, share: null, devices: ["attic"], perMinute: 5 });
          const reply = await device.request({
            digitU8,
            payload: payload({ command: Command.INFERENCE_INPUT, requestId: 2, digitU8 }),
          });
          assert.equal(reply.update?.release, RELEASE);
          const chunk = await device.request({
            digitU8,
            payload: payload({
              command: Command.CODE_CHUNK,
              requestId: 3,
              chunk: { release: RELEASE, offset: 512 },
            }),
          });
          assert.equal(chunk.status, Status.OK, chunk.error);
          assert.equal(
            new TextDecoder().decode(Uint8Array.from(chunk.chunk!.data!)),
            CODE.slice(512, 1024),
          );
        } finally {
          device.close();
        }
      });
    } finally {
      await broker.stop();
    }
  },
});

Deno.test("a board connected before a rollout starts is offered it on its next request, in process and through listener Workers", async () => {
  for (const listeners of [1, 2]) {
    await withUpdates({ listeners }, async (server, address) => {
      const board = await InferenceClient.connect(address);
      try {
        const digitU8 = new Uint8Array(784);
        // The firmware sends its device and client fields on a connection's first request only.
        const first = await board.send({
          command: Command.INFERENCE_INPUT,
          digitU8,
          device: "attic",
          client: `${NAME} ${OLD}`,
        });
        assert.equal(first.update, null);
        server.updates.start({ release: RELEASE, share: null, devices: ["attic"], perMinute: 5 });
        const next = await board.send({ command: Command.INFERENCE_INPUT, digitU8 });
        assert.equal(next.update?.release, RELEASE, `listeners ${listeners}`);
        // A new connection's chunk request pipelined right behind the request that names it.
        const piped = await InferenceClient.connect(address);
        const [intro, piped1, piped2] = await Promise.all([
          piped.send({ command: Command.INFERENCE_INPUT, digitU8, device: "attic" }),
          piped.send({ command: Command.CODE_CHUNK, chunk: { release: RELEASE, offset: 0 } }),
          piped.send({ command: Command.CODE_CHUNK, chunk: { release: RELEASE, offset: 512 } }),
        ]);
        piped.close();
        assert.equal(intro.status, Status.OK);
        assert.equal(piped1.status, Status.OK, `listeners ${listeners}: ${piped1.error}`);
        assert.equal(piped2.status, Status.OK, `listeners ${listeners}: ${piped2.error}`);
        const chunk = await board.send({
          command: Command.CODE_CHUNK,
          chunk: { release: RELEASE, offset: 0 },
        });
        assert.equal(chunk.status, Status.OK, chunk.error);
      } finally {
        board.close();
      }
    });
  }
});
