// Board code updates on a real server over real framed connections: offers
// reach exactly a rollout's cohort at its pace, chunks carry the file's bytes
// and their CRC-32 only to devices offered it, reports move states, too many
// failures pause the rollout, and with tokens an offer carries the MAC keyed
// by the device's token. MQTT boards get the same.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { crc32 } from "../../shared/crc32.ts";
import { Status } from "../../shared/errors.ts";
import { Command } from "../../shared/codec.ts";
import { encodeRequest, type Request } from "../../shared/request_codec.ts";
import { UpdateState } from "../../shared/update_codec.ts";
import { oldClientRequest } from "../../shared/testing.ts";
import { InferenceClient, legacyExchange } from "../../client/client.ts";
import { Authorizer } from "../auth/authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "../auth/tokens.ts";
import { recordingLogger, withServer } from "../testing/server.ts";
import { callHttp, fakeFirmware, NAME, releaseDir, TestBoard } from "../testing/releases.ts";
import { Mosquitto, requireMqtt } from "../testing/mosquitto.ts";
import { MqttDevice } from "../testing/mqtt_device.ts";
import { inCohort } from "./cohort.ts";
import { until } from "../testing/until.ts";

const ADMIN = "admin-token-0123456789";
const OLD = "1.0.0";
const NEW = "1.0.1";
const RELEASE = `${NAME}/${NEW}`;
const CODE = fakeFirmware(1300, 7);

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

async function withUpdates(
  extra: Parameters<typeof withServer>[0],
  fn: Parameters<typeof withServer>[1],
): Promise<void> {
  const dir = await releaseDir({ [NEW]: CODE });
  try {
    await withServer({ httpPort: 0, adminToken: ADMIN, firmwareDir: dir, ...extra }, fn);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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

Deno.test("chunks carry the file's bytes and CRC-32, only to a device offered the release", async () => {
  await withUpdates({}, async (server) => {
    const board = await TestBoard.connect(server, "kitchen", OLD);
    const stranger = await TestBoard.connect(server, "hall", OLD);
    try {
      await callHttp(server, "POST", "/v2/fleet/rollouts", {
        token: ADMIN,
        body: { release: RELEASE, devices: ["kitchen"] },
      });
      assert.equal((await stranger.infer()).update, null);
      const refused = await stranger.chunk(RELEASE, 0);
      assert.equal(refused.status, Status.UPDATE_UNAVAILABLE);
      assert.match(refused.error, /not offered to device "hall"/);

      const offer = (await board.infer()).update!;
      const parts: number[] = [];
      for (let offset = 0; offset < offer.size!; offset += 512) {
        const reply = await board.chunk(RELEASE, offset);
        assert.equal(reply.status, Status.OK, reply.error);
        const chunk = reply.chunk!;
        assert.equal(chunk.offset, offset);
        assert.equal(chunk.data!.length, Math.min(512, CODE.length - offset));
        assert.equal(chunk.crc32, crc32(chunk.data!));
        parts.push(...Array.from(chunk.data!));
      }
      assert.equal(new TextDecoder().decode(Uint8Array.from(parts)), CODE);
      const device = await callHttp(server, "GET", "/v2/fleet/devices/kitchen", { token: ADMIN });
      assert.equal(device.body.update.state, "downloading");

      const beyond = await board.chunk(RELEASE, CODE.length);
      assert.equal(beyond.status, Status.BAD_UPDATE);
      const other = await board.chunk(`${NAME}/9.9.9`, 0);
      assert.equal(other.status, Status.UPDATE_UNAVAILABLE);
    } finally {
      board.close();
      stranger.close();
    }
  });
});

Deno.test("reports move states; a board back on the release's version is updated; failures pause the rollout", async () => {
  const { log, lines } = recordingLogger("warn");
  await withUpdates({ rolloutMaxFailures: 2, log }, async (server) => {
    const ids = ["a", "b", "c", "d", "e"];
    const boards = await Promise.all(ids.map((id) => TestBoard.connect(server, id, OLD)));
    try {
      const { body } = await callHttp(server, "POST", "/v2/fleet/rollouts", {
        token: ADMIN,
        body: { release: RELEASE, devices: ids },
      });
      for (const b of boards) assert.ok((await b.infer()).update);

      assert.equal((await boards[0].report(RELEASE, UpdateState.VERIFIED)).status, Status.OK);
      // The board reboots into the release and says so in its `client`.
      const updated = await TestBoard.connect(server, "a", NEW);
      assert.equal((await updated.infer()).update, null);
      updated.close();

      for (const [i, state] of [[1, UpdateState.FAILED], [2, UpdateState.ROLLED_BACK]]) {
        const reply = await boards[i].report(RELEASE, state, "crc mismatch at 512");
        assert.equal(reply.status, Status.OK);
      }
      let view = await callHttp(server, "GET", `/v2/fleet/rollouts/${body.id}`, { token: ADMIN });
      assert.equal(view.body.state, "running", "two failures are not more than 2");
      assert.deepEqual(view.body.counts, {
        offered: 2,
        downloading: 0,
        verified: 0,
        updated: 1,
        failed: 1,
        rolled_back: 1,
      });
      assert.equal(view.body.device_states.b.reason, "crc mismatch at 512");
      const failed = await callHttp(server, "GET", "/v2/fleet/devices?update=failed", {
        token: ADMIN,
      });
      assert.deepEqual(failed.body.devices.map((d: { id: string }) => d.id), ["b"]);

      await boards[3].report(RELEASE, UpdateState.FAILED, "threw at start");
      view = await callHttp(server, "GET", `/v2/fleet/rollouts/${body.id}`, { token: ADMIN });
      assert.equal(view.body.state, "paused");
      assert.match(view.body.reason, /3 devices failed or rolled back/);
      assert.ok(lines.some((l) => / WARN .*rollout paused/.test(l)), lines.join("\n"));
      assert.equal((await boards[4].infer()).update, null, "paused: no offer");

      const bad = await boards[4].report(RELEASE, UpdateState.OFFERED);
      assert.equal(bad.status, Status.BAD_UPDATE);
      // A failed update's outcome is in: the same report again is taken and changes nothing,
      // another is refused, and no chunk is served to it.
      const again = await boards[1].report(RELEASE, UpdateState.FAILED, "x".repeat(10_000));
      assert.equal(again.status, Status.OK);
      for (const state of [UpdateState.UPDATED, UpdateState.DOWNLOADING]) {
        const back = await boards[1].report(RELEASE, state);
        assert.equal(back.status, Status.UPDATE_UNAVAILABLE);
        assert.match(back.error ?? "", /ended failed: a rollout of another release offers it one/);
      }
      assert.equal((await boards[1].chunk(RELEASE, 0)).status, Status.UPDATE_UNAVAILABLE);
      view = await callHttp(server, "GET", `/v2/fleet/rollouts/${body.id}`, { token: ADMIN });
      assert.equal(view.body.device_states.b.reason, "crc mismatch at 512");
      // A stopped rollout serves no chunk, but still hears how its devices ended (a download it
      // cut short fails on the board), so the views say where each device stands.
      await callHttp(server, "POST", `/v2/fleet/rollouts/${body.id}/stop`, { token: ADMIN });
      const cut = await boards[4].chunk(RELEASE, 0);
      assert.equal(cut.status, Status.UPDATE_UNAVAILABLE);
      assert.match(cut.error ?? "", /was stopped: its chunks are no longer served/);
      const late = await boards[4].report(RELEASE, UpdateState.FAILED, "bad chunks");
      assert.equal(late.status, Status.OK);
      view = await callHttp(server, "GET", `/v2/fleet/rollouts/${body.id}`, { token: ADMIN });
      assert.equal(view.body.device_states.e.state, "failed");
      assert.equal(view.body.device_states.e.reason, "bad chunks");
      const metrics = await (await fetch(`http://127.0.0.1:${server.http!.addr.port}/metrics`))
        .text();
      assert.match(metrics, /mnist_device_updates\{state="failed"\} 3/);
      assert.match(metrics, /mnist_device_updates\{state="offered"\} 0/);
      assert.match(metrics, /mnist_device_updates\{state="updated"\} 1/);
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
