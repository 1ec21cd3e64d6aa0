// Board code update offers on a real server over real framed connections:
// offers reach exactly a rollout's cohort at its pace, pause, resume and
// stop apply, legacy and id-less clients get none, with tokens an offer
// carries the MAC keyed by the device's token, and the update states held
// are bounded by --max-devices.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { crc32 } from "../../shared/crc32.ts";
import { Status } from "../../shared/errors.ts";
import { Command } from "../../shared/codec.ts";
import { oldClientRequest } from "../../shared/testing.ts";
import { InferenceClient, legacyExchange } from "../../client/client.ts";
import { Authorizer } from "../auth/authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "../auth/tokens.ts";
import { callHttp, NAME, TestBoard } from "../testing/releases.ts";
import { ADMIN } from "../testing/rollout.ts";
import { CODE, OLD, RELEASE, withUpdates } from "../testing/code_updates.ts";
import { inCohort } from "./cohort.ts";

/** Five ids of which exactly three are in a 60% cohort. */
function fiveIds(): string[] {
  const inside: string[] = [];
  const outside: string[] = [];
  for (let i = 0; inside.length < 3 || outside.length < 2; i++) {
    const id = `board-${i}`;
    if (inCohort(id, 0.6)) {
      if (inside.length < 3) inside.push(id);
    } else if (outside.length < 2) outside.push(id);
  }
  return [...inside, ...outside];
}

Deno.test("a 60% rollout offers exactly its cohort of five boards, and pause, resume and stop apply", async () => {
  await withUpdates({}, async (server) => {
    const ids = fiveIds();
    const boards = await Promise.all(ids.map((id) => TestBoard.connect(server, id, OLD)));
    try {
      const started = await callHttp(server, "POST", "/v2/fleet/rollouts", {
        token: ADMIN,
        body: { release: RELEASE, share: 0.6 },
      });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const id = started.body.id;
      const offered = async () => {
        const replies = await Promise.all(boards.map((b) => b.infer()));
        for (const r of replies) assert.equal(r.status, Status.OK);
        return ids.filter((_, i) => replies[i].update !== null);
      };
      assert.deepEqual(await offered(), ids.slice(0, 3));
      const reply = await boards[0].infer();
      assert.equal(reply.update!.release, RELEASE);
      assert.equal(reply.update!.size, CODE.length);
      assert.equal(reply.update!.crc32, crc32(new TextEncoder().encode(CODE)));
      assert.equal(reply.update!.mac, null, "tokens are off: no MAC");

      const view = await callHttp(server, "GET", `/v2/fleet/rollouts/${id}`, { token: ADMIN });
      assert.equal(view.body.counts.offered, 3);
      assert.deepEqual(Object.keys(view.body.device_states).sort(), ids.slice(0, 3).sort());
      assert.equal(view.body.device_total, 3);
      // A window of the members, in the order they joined: two, then the rest.
      const page = (query: string) =>
        callHttp(server, "GET", `/v2/fleet/rollouts/${id}?${query}`, { token: ADMIN });
      const head = await page("limit=2");
      const tail = await page("offset=2&limit=5");
      assert.equal(Object.keys(head.body.device_states).length, 2);
      assert.equal(head.body.device_total, 3);
      assert.equal(head.body.counts.offered, 3, "the counts are the whole rollout's");
      assert.deepEqual(
        [...Object.keys(head.body.device_states), ...Object.keys(tail.body.device_states)].sort(),
        ids.slice(0, 3).sort(),
      );
      const bad = await page("limit=-1");
      assert.equal(bad.status, 400);
      assert.match(bad.body.error, /^MALFORMED_BUFFER: limit must be a whole number/);

      await callHttp(server, "POST", `/v2/fleet/rollouts/${id}/pause`, { token: ADMIN });
      assert.deepEqual(await offered(), []);
      await callHttp(server, "POST", `/v2/fleet/rollouts/${id}/resume`, { token: ADMIN });
      assert.deepEqual(await offered(), ids.slice(0, 3));
      const stopped = await callHttp(server, "POST", `/v2/fleet/rollouts/${id}/stop`, {
        token: ADMIN,
      });
      assert.equal(stopped.body.state, "stopped");
      assert.deepEqual(await offered(), []);
      const chunk = await boards[0].chunk(RELEASE, 0);
      assert.equal(chunk.status, Status.UPDATE_UNAVAILABLE, "a stopped rollout serves no chunk");
      const again = await callHttp(server, "POST", `/v2/fleet/rollouts/${id}/resume`, {
        token: ADMIN,
      });
      assert.equal(again.status, 409);
    } finally {
      for (const b of boards) b.close();
    }
  });
});

Deno.test("a rollout's pace offers at most per_minute new devices; legacy and id-less clients get no offer", async () => {
  await withUpdates({}, async (server) => {
    const boards = await Promise.all(
      [0, 1, 2, 3, 4].map((i) => TestBoard.connect(server, `paced-${i}`, OLD)),
    );
    try {
      await callHttp(server, "POST", "/v2/fleet/rollouts", {
        token: ADMIN,
        body: { release: RELEASE, share: 1, per_minute: 2 },
      });
      const replies = [];
      for (const b of boards) replies.push(await b.infer());
      assert.deepEqual(replies.map((r) => r.update !== null), [true, true, false, false, false]);
      // The two offered keep their offer; the pace counts new devices only.
      assert.ok((await boards[1].infer()).update);

      const legacy = await legacyExchange(
        { hostname: "127.0.0.1", port: server.addr.port },
        oldClientRequest(new Float32Array(784)),
      );
      assert.equal(legacy.length, 96);
      // A framed client that names no device is keyed by its address: never offered.
      const anonymous = await InferenceClient.connect({
        hostname: "127.0.0.1",
        port: server.addr.port,
      });
      const reply = await anonymous.send({
        command: Command.INFERENCE_INPUT,
        digitU8: new Uint8Array(784),
        client: `${NAME} ${OLD}`,
      });
      anonymous.close();
      assert.equal(reply.status, Status.OK);
      assert.equal(reply.update, null);
    } finally {
      for (const b of boards) b.close();
    }
  });
});

Deno.test("with tokens, the offer's MAC is HMAC-SHA1 keyed by the device's token; no token, no chunk", async () => {
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, tokenLine("porch", token) + "\n");
  const tokens = await DeviceTokens.open(`${dir}/tokens`);
  try {
    await withUpdates({ auth: new Authorizer({ tokens }) }, async (server) => {
      const board = await TestBoard.connect(server, "ignored-with-tokens", OLD, token);
      const thief = await TestBoard.connect(server, "porch", OLD, "x".repeat(32));
      try {
        await callHttp(server, "POST", "/v2/fleet/rollouts", {
          token: ADMIN,
          body: { release: RELEASE, devices: ["porch"] },
        });
        const offer = (await board.infer()).update!;
        const sha1 = createHash("sha1").update(CODE).digest();
        const mac = createHmac("sha1", token).update(sha1).digest();
        assert.deepEqual(Array.from(offer.mac!), Array.from(mac));
        const refused = await thief.chunk(RELEASE, 0);
        assert.equal(refused.status, Status.UNAUTHORIZED);
        assert.equal(refused.chunk, null);
        assert.equal((await board.chunk(RELEASE, 0)).status, Status.OK);
      } finally {
        board.close();
        thief.close();
      }
    });
  } finally {
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("update states are bounded by --max-devices: made-up ids the fleet forgets take their update state along", async () => {
  await withUpdates({ maxDevices: 20 }, async (server) => {
    const started = await callHttp(server, "POST", "/v2/fleet/rollouts", {
      token: ADMIN,
      body: { release: RELEASE, share: 1, per_minute: 1_000_000 },
    });
    assert.equal(started.status, 201);
    // One connection naming a new device on every request, as a client making up ids can.
    const client = await InferenceClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
    try {
      for (let i = 0; i < 200; i++) {
        const reply = await client.send({
          command: Command.INFERENCE_INPUT,
          digitU8: new Uint8Array(784),
          device: `made-up-${i}`,
          client: `${NAME} ${OLD}`,
        });
        assert.ok(reply.update, `made-up-${i} is offered`);
      }
    } finally {
      client.close();
    }
    const counts = server.updates.counts();
    const held = Object.values(counts).reduce((a, b) => a + b, 0);
    assert.ok(held <= 20, `${held} update states held for at most 20 devices`);
    const rollout = await callHttp(server, "GET", "/v2/fleet/rollouts/r1", { token: ADMIN });
    assert.ok(Object.keys(rollout.body.device_states).length <= 20);
  });
});
