// Who a canary reaches, on a real server with real engines: the candidate
// serves exactly the hashed share of device ids (framed boards and HTTP), or
// the listed devices, through listener Workers and over MQTT alike, and
// nobody else.
import assert from "node:assert/strict";
import { Status } from "../../shared/errors.ts";
import { inCohort } from "../fleet/cohort.ts";
import { api, MODELS, OPERATOR, withRolloutServer } from "../testing/rollout.ts";
import { ink, versionsByBoard } from "../testing/board_versions.ts";
import { until } from "../testing/until.ts";
import { Mosquitto, requireMqtt } from "../testing/mosquitto.ts";
import { MqttDevice } from "../testing/mqtt_device.ts";
import type { InferenceServer } from "../inference_server.ts";

/** The `model_version` of an HTTP inference (the device id is `addr:127.0.0.1`). */
async function httpVersion(
  server: InferenceServer,
  path = "/v2/models/mnist/infer",
  input = "input",
) {
  const response = await fetch(`http://127.0.0.1:${server.http!.addr.port}${path}`, {
    method: "POST",
    body: JSON.stringify({
      inputs: [{ name: input, shape: [1, 784], datatype: "UINT8", data: [...ink] }],
    }),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return Number(body.model_version);
}

Deno.test("a canary serves the candidate to exactly the hashed share of device ids, or the listed ones", async () => {
  const boards = Array.from({ length: 40 }, (_, i) => `board-${i}`);
  await withRolloutServer(
    {
      1: { model: MODELS.bundled },
      2: { model: MODELS.dense, stage: "candidate" },
    },
    {
      operatorToken: OPERATOR,
      canaryMaxLowConfidenceRatio: 0,
    },
    async (server, { port }) => {
      const started = await api(server, "POST", "/v2/models/mnist/canary", {
        version: 2,
        share: 0.5,
      });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const seen = await versionsByBoard(port, boards);
      const inside = boards.filter((b) => inCohort(b, 0.5));
      assert.ok(inside.length > 5 && inside.length < 35, "both sides have boards");
      for (const board of boards) {
        assert.deepEqual(seen.get(board), inCohort(board, 0.5) ? [2, 2] : [1, 1], board);
      }
      const http = inCohort("addr:127.0.0.1", 0.5) ? 2 : 1;
      assert.equal(await httpVersion(server), http);
      // A versioned route may name the loaded candidate (whose input is "x").
      assert.equal(await httpVersion(server, "/v2/models/mnist/versions/2/infer", "x"), 2);

      const figures = await api(server, "GET", "/v2/models/mnist/canary", undefined, OPERATOR);
      const [serving, candidate] = figures.body.versions;
      assert.deepEqual([serving.version, candidate.version], [1, 2]);
      assert.equal(candidate.requests, inside.length * 2 + (http === 2 ? 2 : 1));
      assert.equal(serving.requests + candidate.requests, boards.length * 2 + 2);

      // A list: board-3 alone.
      assert.equal((await api(server, "DELETE", "/v2/models/mnist/canary")).status, 200);
      const listed = await api(server, "POST", "/v2/models/mnist/canary", {
        version: 2,
        devices: ["board-3"],
      });
      assert.equal(listed.status, 200);
      const again = await versionsByBoard(port, boards);
      for (const board of boards) {
        assert.deepEqual(again.get(board), board === "board-3" ? [2, 2] : [1, 1], board);
      }
      // Its view lists the devices; the dashboard, polled every second, counts them.
      assert.deepEqual((await api(server, "GET", "/v2/models/mnist/canary")).body.devices, [
        "board-3",
      ]);
      const dashboard = (await api(server, "GET", "/dashboard.json")).body;
      assert.equal(dashboard.rollouts[0].canary.device_count, 1);
      assert.equal(dashboard.rollouts[0].canary.devices, undefined);
      assert.equal((await api(server, "DELETE", "/v2/models/mnist/canary")).status, 200);
      const after = await versionsByBoard(port, ["board-3"]);
      assert.deepEqual(after.get("board-3"), [1, 1], "an ended canary serves nobody");
      assert.equal(
        (await api(server, "POST", "/v2/models/mnist/canary", { version: 2 })).status,
        400,
      );
    },
  );
});

Deno.test({
  name:
    "a listed canary reaches its device through listener Workers and over MQTT alike, and nobody else",
  ignore: requireMqtt(),
  fn: async () => {
    const broker = await Mosquitto.start();
    try {
      await withRolloutServer(
        { 1: { model: MODELS.bundled }, 2: { model: MODELS.dense, stage: "candidate" } },
        { listeners: 2, mqtt: { url: broker.url, group: "mnist" }, canaryMaxLowConfidenceRatio: 0 },
        async (server, { port }) => {
          await until(() => server.mqtt!.state().connected, "the server's MQTT client connected");
          const started = await api(server, "POST", "/v2/models/mnist/canary", {
            version: 2,
            devices: ["kitchen"],
          });
          assert.equal(started.status, 200, JSON.stringify(started.body));
          const seen = await versionsByBoard(port, ["kitchen", "garage"]);
          assert.deepEqual(seen.get("kitchen"), [2, 2], "a board through a Worker");
          assert.deepEqual(seen.get("garage"), [1, 1]);
          for (const [name, version] of [["kitchen", 2], ["garage", 1]] as const) {
            const device = await MqttDevice.connect(broker.url, name);
            try {
              const reply = await device.request({ digitU8: ink });
              assert.equal(reply.status, Status.OK, reply.error);
              assert.equal(reply.modelVersion, version, `${name} over MQTT`);
            } finally {
              device.close();
            }
          }
        },
      );
    } finally {
      await broker.stop();
    }
  },
});
