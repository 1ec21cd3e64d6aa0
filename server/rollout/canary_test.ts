// Canaries, promote and rollback on a real server with real engines: the
// candidate reaches exactly the hashed share of device ids (framed boards
// and HTTP), or the listed devices, and nobody else; a rule rolls a bad
// canary back; promote and rollback go through the admin API, persist in the
// repository and survive a restart.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { Command } from "../../shared/codec.ts";
import { Status } from "../../shared/errors.ts";
import { inCohort } from "../fleet/cohort.ts";
import { recordingLogger, withServer } from "../testing/server.ts";
import {
  ADMIN,
  api,
  MODELS,
  OPERATOR,
  repositoryOf,
  withRolloutServer,
} from "../testing/rollout.ts";
import { until } from "../testing/until.ts";
import { Mosquitto, requireMqtt } from "../testing/mosquitto.ts";
import { MqttDevice } from "../testing/mqtt_device.ts";
import type { InferenceServer } from "../inference_server.ts";

const ink = Uint8Array.from({ length: 784 }, (_, i) => (i % 28 > 10 && i % 28 < 16 ? 255 : 0));

/** The versions that answered each board (one connection each, two digits). */
async function versionsByBoard(port: number, boards: string[]): Promise<Map<string, number[]>> {
  const seen = new Map<string, number[]>();
  await Promise.all(boards.map(async (device) => {
    const client = await InferenceClient.connect({ hostname: "127.0.0.1", port });
    try {
      const replies = await Promise.all(
        [0, 1].map(() => client.send({ command: Command.INFERENCE_INPUT, digitU8: ink, device })),
      );
      assert.ok(replies.every((r) => r.status === Status.OK));
      seen.set(device, replies.map((r) => r.modelVersion!));
    } finally {
      client.close();
    }
  }));
  return seen;
}

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

Deno.test("a canary whose candidate is unsure of everything is rolled back by the low-confidence rule", async () => {
  const { log, lines } = recordingLogger("warn");
  const boards = Array.from({ length: 40 }, (_, i) => `board-${i}`);
  await withRolloutServer(
    {
      1: { model: MODELS.bundled },
      2: { model: MODELS.dense, stage: "candidate" },
    },
    { log, rolloutMinSamples: 10 },
    async (server, { port }) => {
      await api(server, "POST", "/v2/models/mnist/canary", { version: 2, share: 0.5 });
      await until(async () => {
        await versionsByBoard(port, boards);
        return (await api(server, "GET", "/v2/models/mnist/canary")).status === 404;
      }, "the canary rolled back");
      assert.ok(lines.some((l) => /canary_low_confidence/.test(l)));
      const seen = await versionsByBoard(port, boards);
      assert.ok([...seen.values()].every((v) => v[0] === 1 && v[1] === 1));
    },
  );
});

Deno.test("promote and rollback through the admin API persist in the repository and survive a restart", async () => {
  const root = await repositoryOf({
    1: { model: MODELS.bundled },
    2: { model: MODELS.dense, stage: "candidate" },
  });
  const stage = async () => JSON.parse(await Deno.readTextFile(`${root}/mnist/2/model.json`)).stage;
  try {
    await withServer(
      { modelRepository: root, adminToken: ADMIN, operatorToken: OPERATOR },
      async (server, { port }) => {
        const denied = await api(
          server,
          "POST",
          "/v2/models/mnist/promote",
          { version: 2 },
          OPERATOR,
        );
        assert.equal(denied.status, 401);
        assert.equal(
          (await api(server, "POST", "/v2/models/mnist/promote", { version: 9 })).status,
          404,
        );
        // Promoted from a canary: the candidate's warmed engines serve, nothing new starts.
        assert.equal(
          (await api(server, "POST", "/v2/models/mnist/canary", { version: 2, share: 1 })).status,
          200,
        );
        assert.deepEqual((await versionsByBoard(port, ["b"])).get("b"), [2, 2]);
        const engines = server.rollouts.get("mnist")!.candidate.queue.engineSet.engines;
        const promoted = await api(server, "POST", "/v2/models/mnist/promote", { version: 2 });
        assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
        assert.deepEqual(promoted.body, { model: "mnist", from: 1, version: 2 });
        assert.equal(await stage(), undefined);
        assert.ok(server.queue.engineSet.engines.every((e, i) => e === engines[i]));
        assert.equal(server.rollouts.get("mnist"), undefined, "the canary ended");
        assert.deepEqual((await versionsByBoard(port, ["b"])).get("b"), [2, 2]);
      },
    );
    await withServer({ modelRepository: root, adminToken: ADMIN }, async (server, { port }) => {
      assert.deepEqual((await versionsByBoard(port, ["b"])).get("b"), [2, 2], "after a restart");
      const back = await api(server, "POST", "/v2/models/mnist/rollback");
      assert.equal(back.status, 200, JSON.stringify(back.body));
      assert.deepEqual(back.body, { model: "mnist", ended: null, from: 2, version: 1 });
      assert.equal(await stage(), "retired");
      assert.deepEqual((await versionsByBoard(port, ["b"])).get("b"), [1, 1]);
      assert.equal((await api(server, "POST", "/v2/models/mnist/rollback")).status, 409);
    });
    await withServer({ modelRepository: root }, async (server) => {
      assert.equal(server.serving.versions().get("mnist"), 1, "the rollback survives a restart");
      assert.equal((await api(server, "POST", "/v2/models/mnist/rollback")).status, 403);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("canary, promote and rollback under steady traffic fail no request", async () => {
  await withRolloutServer(
    { 1: { model: MODELS.bundled }, 2: { model: MODELS.bundled, stage: "candidate" } },
    {},
    async (server, { port }) => {
      let sending = true;
      const codes = new Map<number, number>();
      const versions = new Set<number>();
      const board = async (device: string) => {
        const client = await InferenceClient.connect({ hostname: "127.0.0.1", port });
        while (sending) {
          const reply = await client.send({
            command: Command.INFERENCE_INPUT,
            digitU8: ink,
            device,
          });
          codes.set(reply.status, (codes.get(reply.status) ?? 0) + 1);
          if (reply.modelVersion) versions.add(reply.modelVersion);
        }
        client.close();
      };
      const boards = Array.from({ length: 8 }, (_, i) => board(`steady-${i}`));
      const steps = [
        ["POST", "/v2/models/mnist/canary", { version: 2, share: 0.5 }],
        ["POST", "/v2/models/mnist/promote", { version: 2 }],
        ["POST", "/v2/models/mnist/rollback", undefined],
      ] as const;
      for (const [method, path, body] of steps) {
        const before = [...codes.values()].reduce((a, b) => a + b, 0);
        const answer = await api(server, method, path, body);
        assert.equal(answer.status, 200, `${path}: ${JSON.stringify(answer.body)}`);
        // Some traffic after each step before the next.
        await until(
          () => [...codes.values()].reduce((a, b) => a + b, 0) > before + 50,
          "50 more replies",
        );
      }
      sending = false;
      await Promise.all(boards);
      assert.deepEqual([...codes.keys()], [Status.OK], JSON.stringify([...codes]));
      assert.deepEqual([...versions].sort(), [1, 2]);
      assert.equal(server.serving.versions().get("mnist"), 1);
    },
  );
});

Deno.test("a candidate's failures count against the candidate's version, on the board port and over HTTP", async () => {
  const workerUrl = new URL("../testdata/scripted_worker.ts", import.meta.url);
  await withRolloutServer(
    { 1: { model: MODELS.dense }, 2: { model: MODELS.stuck, stage: "candidate" } },
    { workerUrl, instances: 1, runTimeoutMs: 300, warmUpMs: 0 },
    async (server, { port }) => {
      const started = await api(server, "POST", "/v2/models/mnist/canary", {
        version: 2,
        devices: ["kitchen"],
      });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const client = await InferenceClient.connect({ hostname: "127.0.0.1", port });
      const reply = await client.send({
        command: Command.INFERENCE_INPUT,
        digitU8: ink,
        device: "kitchen",
      });
      client.close();
      assert.equal(reply.status, Status.INTERNAL_ERROR, reply.error);
      const pinned = await fetch(
        `http://127.0.0.1:${server.http!.addr.port}/v2/models/mnist/versions/2/infer`,
        {
          method: "POST",
          body: JSON.stringify({
            inputs: [{ name: "input", shape: [1, 784], datatype: "UINT8", data: [...ink] }],
          }),
        },
      );
      assert.equal(pinned.status, 500, await pinned.text());
      const fails = async (version: number) => {
        const stats = await api(server, "GET", `/v2/models/mnist/versions/${version}/stats`);
        return stats.body.model_stats[0].inference_stats.fail.count;
      };
      assert.equal(await fails(2), 2);
      assert.equal(await fails(1), 0);
      const metrics = await (await fetch(`http://127.0.0.1:${server.http!.addr.port}/metrics`))
        .text();
      assert.match(metrics, /nv_inference_request_failure\{model="mnist",version="2"[^}]*\} 2/);
      assert.doesNotMatch(
        metrics,
        /nv_inference_request_failure\{model="mnist",version="1"[^}]*\} [1-9]/,
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

Deno.test("a rollback or promote to a version that cannot serve changes nothing: what served serves on, the stages stay", async () => {
  const wrongShape = await Deno.readFile(new URL("../testdata/dense_784x5.onnx", import.meta.url));
  const root = await repositoryOf({
    1: { model: wrongShape },
    2: { model: MODELS.bundled },
    3: { model: wrongShape, stage: "candidate" },
  });
  const stageOf = async (v: number) =>
    JSON.parse(await Deno.readTextFile(`${root}/mnist/${v}/model.json`)).stage;
  try {
    await withServer({ modelRepository: root, adminToken: ADMIN }, async (server, { port }) => {
      assert.deepEqual((await versionsByBoard(port, ["b"])).get("b"), [2, 2]);
      // Version 1 was never probed (a scan probes only the version it serves): found out now.
      const back = await api(server, "POST", "/v2/models/mnist/rollback");
      assert.equal(back.status, 400, JSON.stringify(back.body));
      assert.match(
        back.body.error,
        /^MODEL_UNAVAILABLE: version 1 .*cannot serve.*version 2 serves on/,
      );
      assert.equal(await stageOf(2), undefined, "the serving version is not retired");
      assert.deepEqual((await versionsByBoard(port, ["b"])).get("b"), [2, 2]);
      // Found out once: the index says why, and no rollback starts it again.
      const index = await api(server, "POST", "/v2/repository/index");
      const one = index.body.find((row: { version: string }) => row.version === "1");
      assert.equal(one.state, "UNAVAILABLE", JSON.stringify(one));
      assert.match(one.reason, /output|784|10/);
      const again = await api(server, "POST", "/v2/models/mnist/rollback");
      assert.equal(again.status, 409, JSON.stringify(again.body));

      const promoted = await api(server, "POST", "/v2/models/mnist/promote", { version: 3 });
      assert.equal(promoted.status, 400, JSON.stringify(promoted.body));
      assert.match(
        promoted.body.error,
        /^MODEL_UNAVAILABLE: version 3 .*cannot serve.*version 2 serves on/,
      );
      assert.equal(await stageOf(3), "candidate", "a promote that failed leaves the stage");
      assert.deepEqual((await versionsByBoard(port, ["b"])).get("b"), [2, 2]);

      // Unloaded: nothing to promote or roll back, and nothing written.
      const unload = await api(server, "POST", "/v2/repository/models/mnist/unload");
      assert.equal(unload.status, 200);
      for (const [path, body] of [["promote", { version: 3 }], ["rollback", undefined]] as const) {
        const refused = await api(server, "POST", `/v2/models/mnist/${path}`, body);
        assert.equal(refused.status, 409, JSON.stringify(refused.body));
        assert.match(refused.body.error, /^BAD_UPDATE: model "mnist" is unloaded/);
      }
      assert.equal(await stageOf(3), "candidate");
      // An unknown model: 404, and its name is not echoed whole.
      const long = "x".repeat(10_000);
      for (const [path, body] of [["promote", { version: 1 }], ["rollback", undefined]] as const) {
        const unknown = await api(server, "POST", `/v2/models/${long}/${path}`, body);
        assert.equal(unknown.status, 404, JSON.stringify(unknown.body).slice(0, 200));
        assert.ok(unknown.body.error.length < 200, unknown.body.error.slice(0, 200));
      }
    });
    // A restart serves what served before.
    await withServer({ modelRepository: root }, async (_server, { port }) => {
      assert.deepEqual((await versionsByBoard(port, ["b"])).get("b"), [2, 2]);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a serving version swapped in under a canary is its serving side from then on, not the one it started beside", async () => {
  const root = await repositoryOf({
    1: { model: MODELS.bundled },
    2: { model: MODELS.dense, stage: "candidate" },
  });
  try {
    await withServer(
      { modelRepository: root, adminToken: ADMIN, canaryMaxLowConfidenceRatio: 0 },
      async (server, { port }) => {
        const started = await api(server, "POST", "/v2/models/mnist/canary", {
          version: 2,
          devices: ["inside"],
        });
        assert.equal(started.status, 200);
        await versionsByBoard(port, ["outside", "inside"]);
        // Version 3 copied in: "latest" serves it to everyone outside the canary.
        await Deno.mkdir(`${root}/mnist/.3`);
        await Deno.copyFile(`${root}/mnist/1/model.onnx`, `${root}/mnist/.3/model.onnx`);
        await Deno.copyFile(`${root}/mnist/1/model.json`, `${root}/mnist/.3/model.json`);
        await Deno.rename(`${root}/mnist/.3`, `${root}/mnist/3`);
        await server.watcher.trigger("request");
        assert.deepEqual((await versionsByBoard(port, ["outside"])).get("outside"), [3, 3]);
        const figures = await api(server, "GET", "/v2/models/mnist/canary");
        const [serving, candidate] = figures.body.versions;
        assert.deepEqual([serving.version, candidate.version], [3, 2]);
        assert.equal(serving.requests, 2, "only version 3's requests on its side");
      },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
