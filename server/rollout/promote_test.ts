// Promote and rollback on a real server with real engines: through the admin
// API they persist in the repository and survive a restart, under steady
// traffic they fail no request, and to a version that cannot serve they
// change nothing.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { Command } from "../../shared/codec.ts";
import { Status } from "../../shared/errors.ts";
import { withServer } from "../testing/server.ts";
import {
  ADMIN,
  api,
  MODELS,
  OPERATOR,
  repositoryOf,
  withRolloutServer,
} from "../testing/rollout.ts";
import { ink, versionsByBoard } from "../testing/board_versions.ts";
import { until } from "../testing/until.ts";

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
