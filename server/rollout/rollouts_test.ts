// Shadows on a real server with real engines and real model files: a
// candidate serves nobody; its figures move with live traffic; one built to
// disagree is rolled back by the rule; a stuck one never delays a reply and
// its work is dropped under load.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { Command } from "../../shared/codec.ts";
import { Status } from "../../shared/errors.ts";
import { loadHeldOut } from "../../models/mnist_data.ts";
import { recordingLogger } from "../testing/server.ts";
import { api, MODELS, OPERATOR, withRolloutServer } from "../testing/rollout.ts";
import { until } from "../testing/until.ts";
import type { ShadowEvent } from "./shadow_event.ts";

const digits = loadHeldOut().slice(0, 200).map((d) =>
  Uint8Array.from(d.pixels, (v) => Math.round(v * 255))
);

/** Sends `count` digits on one framed connection as board `device`; the replies. */
async function send(port: number, device: string, count: number, from = 0) {
  const client = await InferenceClient.connect({ hostname: "127.0.0.1", port });
  try {
    return await Promise.all(
      Array.from({ length: count }, (_, i) =>
        client.send({
          command: Command.INFERENCE_INPUT,
          digitU8: digits[(from + i) % digits.length],
          device,
        })),
    );
  } finally {
    client.close();
  }
}

Deno.test("a candidate serves nobody; its shadow's figures move with live traffic; DELETE stops it", async () => {
  const told: ShadowEvent[] = [];
  await withRolloutServer(
    {
      1: { model: MODELS.bundled },
      2: { model: MODELS.bundled, stage: "candidate" },
    },
    {
      operatorToken: OPERATOR,
      onShadow: (e) => told.push(e),
    },
    async (server, { port }) => {
      assert.equal(server.serving.versions().get("mnist"), 1, "the candidate is skipped");
      const index = await api(server, "POST", "/v2/repository/index");
      assert.match(index.body[0].reason, /^candidate: serves nobody/);

      // The operator may look, never start; the admin starts.
      const denied = await api(
        server,
        "POST",
        "/v2/models/mnist/shadow",
        { version: 2 },
        OPERATOR,
      );
      assert.equal(denied.status, 401);
      const none = await api(server, "GET", "/v2/models/mnist/shadow", undefined, OPERATOR);
      assert.equal(none.status, 404);
      const started = await api(server, "POST", "/v2/models/mnist/shadow", {
        version: 2,
        sample: 1,
      });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      assert.equal(started.body.compared, 0);

      const replies = await send(port, "board-a", 60);
      assert.ok(replies.every((r) => r.status === Status.OK && r.modelVersion === 1));
      const figures = async () =>
        (await api(server, "GET", "/v2/models/mnist/shadow", undefined, OPERATOR)).body;
      await until(async () => {
        const f = await figures();
        return f.compared + f.dropped + f.failed === 60;
      }, "the shadow's 60 digits accounted for");
      const f = await figures();
      assert.equal(f.sampled, 60);
      assert.ok(f.compared > 0);
      assert.equal(f.agreement, 1, "the same model agrees with itself");
      assert.equal(f.score_difference.p99 <= 0.001, true);
      assert.deepEqual(f.confusion, []);
      assert.equal(told.length, f.compared);
      assert.equal(told[0].deviceId, "board-a");
      assert.deepEqual([told[0].serving.version, told[0].candidate.version], [1, 2]);
      assert.equal(told[0].digitU8?.length, 784);

      const metrics = await (await fetch(`http://127.0.0.1:${server.http!.addr.port}/metrics`))
        .text();
      assert.match(metrics, /mnist_shadow_agreement\{model="mnist",candidate="2"\} 1/);
      assert.match(
        metrics,
        new RegExp(`mnist_shadow_compared_total\\{model="mnist",candidate="2"\\} ${f.compared}`),
      );

      const dashboard = await api(server, "GET", "/dashboard.json", undefined, OPERATOR);
      assert.deepEqual(
        dashboard.body.rollouts.map((r: { version: number; shadow: { compared: number } }) => [
          r.version,
          r.shadow.compared,
        ]),
        [[2, f.compared]],
      );

      const stopped = await api(server, "DELETE", "/v2/models/mnist/shadow");
      assert.equal(stopped.status, 200);
      assert.equal((await api(server, "GET", "/v2/models/mnist/shadow")).status, 404);
      const after = await send(port, "board-a", 10);
      assert.ok(after.every((r) => r.modelVersion === 1));
    },
  );
});

Deno.test("a shadow of a candidate built to disagree is rolled back by the agreement rule", async () => {
  const { log, lines } = recordingLogger("warn");
  await withRolloutServer(
    {
      1: { model: MODELS.bundled },
      2: { model: MODELS.dense, stage: "candidate" },
    },
    { log, rolloutMinSamples: 20 },
    async (server, { port }) => {
      const started = await api(server, "POST", "/v2/models/mnist/shadow", {
        version: 2,
        sample: 1,
      });
      assert.equal(started.status, 200);
      let sent = 0;
      await until(async () => {
        const replies = await send(port, "board-b", 20, sent);
        sent += 20;
        assert.ok(replies.every((r) => r.status === Status.OK && r.modelVersion === 1));
        return (await api(server, "GET", "/v2/models/mnist/shadow")).status === 404;
      }, "the shadow stopped");
      assert.ok(
        lines.some((l) => /rollout rolled back by a rule/.test(l) && /shadow_agreement/.test(l)),
      );
      const metrics = await (await fetch(`http://127.0.0.1:${server.http!.addr.port}/metrics`))
        .text();
      assert.match(
        metrics,
        /mnist_rollout_rollbacks_total\{model="mnist",reason="shadow_agreement"\} 1/,
      );
    },
  );
});

Deno.test("a stuck candidate never delays a reply; its shadow work is dropped under load", async () => {
  const workerUrl = new URL("../testdata/scripted_worker.ts", import.meta.url);
  await withRolloutServer(
    {
      1: { model: MODELS.dense },
      2: { model: MODELS.stuck, stage: "candidate" },
    },
    { workerUrl, instances: 1, maxBatch: 8 },
    async (server, { port }) => {
      assert.equal(
        (await api(server, "POST", "/v2/models/mnist/shadow", { version: 2, sample: 1 })).status,
        200,
      );
      // Eight boards at once, 40 digits each, pipelined: a load the lane cannot keep up with.
      const replies = (await Promise.all(
        Array.from({ length: 8 }, (_, i) => send(port, `board-${i}`, 40, i * 40)),
      )).flat();
      assert.equal(replies.length, 320);
      assert.ok(replies.every((r) => r.status === Status.OK && r.modelVersion === 1));
      // Every reply came while the candidate had not finished one digit.
      const f = (await api(server, "GET", "/v2/models/mnist/shadow")).body;
      assert.equal(f.compared, 0);
      assert.equal(f.sampled, 320);
      assert.ok(
        f.dropped >= 320 - 2 * 8,
        `dropped ${f.dropped}: at most a lane and a run are kept`,
      );
    },
  );
});

Deno.test("unloading a model ends its rollout and closes its candidate; loaded again, none runs", async () => {
  const { log, lines: logs } = recordingLogger("info");
  await withRolloutServer(
    {
      1: { model: MODELS.bundled },
      2: { model: MODELS.bundled, stage: "candidate" },
    },
    { log },
    async (server) => {
      const started = await api(server, "POST", "/v2/models/mnist/canary", {
        version: 2,
        share: 0.5,
      });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      assert.equal(
        (await api(server, "POST", "/v2/models/mnist/shadow", { version: 2 })).status,
        200,
      );
      const candidate = server.rollouts.get("mnist")!.candidate;
      const unloaded = await api(server, "POST", "/v2/repository/models/mnist/unload");
      assert.equal(unloaded.status, 200, JSON.stringify(unloaded.body));
      assert.equal(server.rollouts.get("mnist"), undefined, "the rollout ended with its model");
      await until(
        () => candidate.queue.engineSet.engines.every((e) => e.state === "stopped"),
        "the candidate's engines stopped",
      );
      assert.equal((await api(server, "GET", "/v2/models/mnist/canary")).status, 404);
      assert.deepEqual((await api(server, "GET", "/dashboard.json")).body.rollouts, []);
      assert.ok(logs.some((l) => l.includes("rollout ended: its model no longer serves")));
      assert.equal((await api(server, "POST", "/v2/repository/models/mnist/load")).status, 200);
      assert.equal(server.serving.versions().get("mnist"), 1);
      assert.equal((await api(server, "GET", "/v2/models/mnist/shadow")).status, 404);
    },
  );
});

Deno.test("a promote of another version than the running candidate's is 409 and ends nothing", async () => {
  await withRolloutServer(
    {
      1: { model: MODELS.bundled },
      2: { model: MODELS.bundled, stage: "candidate" },
      3: { model: MODELS.bundled, stage: "candidate" },
    },
    {},
    async (server) => {
      const started = await api(server, "POST", "/v2/models/mnist/canary", {
        version: 2,
        share: 0.5,
      });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const other = await api(server, "POST", "/v2/models/mnist/promote", { version: 3 });
      assert.equal(other.status, 409, JSON.stringify(other.body));
      assert.equal(
        other.body.error,
        'BAD_UPDATE: model "mnist" has a rollout of version 2 running: promote that one, or end it first',
      );
      assert.equal(server.rollouts.get("mnist")?.version, 2, "the canary runs on");
      assert.equal(server.serving.versions().get("mnist"), 1);
      const promoted = await api(server, "POST", "/v2/models/mnist/promote", { version: 2 });
      assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
      assert.equal(server.serving.versions().get("mnist"), 2);
    },
  );
});
