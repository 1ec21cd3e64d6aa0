// A canary's figures on a real server with real engines: a rule rolls a
// candidate unsure of everything back, a candidate's failures count against
// its own version, and a serving version swapped in under a canary is its
// serving side from then on.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { Command } from "../../shared/codec.ts";
import { Status } from "../../shared/errors.ts";
import { recordingLogger, withServer } from "../testing/server.ts";
import { ADMIN, api, MODELS, repositoryOf, withRolloutServer } from "../testing/rollout.ts";
import { ink, versionsByBoard } from "../testing/board_versions.ts";
import { until } from "../testing/until.ts";

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
