// The rollout routes' refusals on a real server: methods, tokens, bodies,
// unknown versions, nothing running, and a second candidate while one runs.
import assert from "node:assert/strict";
import { api, MODELS, OPERATOR, withRolloutServer } from "../testing/rollout.ts";

Deno.test("rollout routes refuse with a code and a sentence, and change nothing", async () => {
  await withRolloutServer(
    {
      1: { model: MODELS.bundled },
      2: { model: MODELS.bundled, stage: "candidate" },
      3: { model: MODELS.dense, stage: "candidate" },
    },
    { operatorToken: OPERATOR },
    async (server) => {
      const M = "/v2/models/mnist";
      const refusals: [string, string, unknown, number, RegExp][] = [
        ["GET", `${M}/promote`, undefined, 405, /^UNKNOWN_COMMAND: promote takes POST/],
        ["POST", `${M}/shadow`, { version: 0 }, 400, /^MALFORMED_BUFFER: the body needs "version"/],
        ["POST", `${M}/shadow`, { version: 2, sample: 2 }, 400, /"sample" must be a number/],
        ["POST", `${M}/canary`, { version: 2 }, 400, /exactly one of "share"/],
        ["POST", `${M}/canary`, { version: 2, share: 0.5, devices: ["a"] }, 400, /exactly one/],
        ["POST", `${M}/canary`, { version: 2, devices: [] }, 400, /"devices" must be a list/],
        // An id no device can have (a typo's trailing space) would name nobody, silently.
        ["POST", `${M}/canary`, { version: 2, devices: ["kitchen "] }, 400, /"devices" must be/],
        ["POST", `${M}/shadow`, { version: 9 }, 404, /no version 9 in the repository/],
        ["POST", `${M}/shadow`, { version: 1 }, 409, /^BAD_UPDATE: version 1 serves already/],
        ["POST", "/v2/models/other/shadow", { version: 2 }, 404, /^MODEL_UNAVAILABLE/],
        ["GET", `${M}/canary`, undefined, 404, /no canary running/],
        ["DELETE", `${M}/shadow`, undefined, 404, /no shadow running/],
        ["POST", `${M}/rollback`, undefined, 409, /^BAD_UPDATE: .*no version below 1/],
        ["POST", `${M}/shadow`, { version: 2, smaple: 0.5 }, 400, /unknown field "smaple"/],
        ["POST", `${M}/promote`, { version: 2, force: true }, 400, /unknown field "force"/],
        ["POST", `${M}/shadow`, { version: 9007199254740993 }, 400, /"version": a whole number/],
      ];
      for (const [method, path, body, status, error] of refusals) {
        const answer = await api(server, method, path, body);
        assert.equal(answer.status, status, `${method} ${path} ${JSON.stringify(body)}`);
        assert.match(answer.body.error, error);
      }
      assert.equal(server.rollouts.active.length, 0, "nothing started");

      assert.equal((await api(server, "POST", `${M}/shadow`, { version: 2 })).status, 200);
      const other = await api(server, "POST", `${M}/canary`, { version: 3, share: 0.1 });
      assert.equal(other.status, 409);
      assert.match(other.body.error, /^BAD_UPDATE: .*rollout of version 2 running; end it first/);
      const byOperator = await api(server, "DELETE", `${M}/shadow`, undefined, OPERATOR);
      assert.equal(byOperator.status, 401);
      const seen = await api(server, "GET", `${M}/shadow`, undefined, OPERATOR);
      assert.equal(seen.body.sample, 0.1, "--shadow-sample's default");
      const v2 = await api(server, "GET", "/v2");
      assert.ok(v2.body.extensions.includes("rollouts"));
    },
  );
});
