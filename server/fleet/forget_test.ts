// The fleet forgetting devices on a real server, over real framed connections: a device quiet
// past --device-forget-after that comes back keeps the update its reply just offered it, not the
// one it had before it was forgotten, and
// --max-devices drops the tenth heard from least recently (no more, though many share a
// millisecond) and tells the operator, in the log and in /metrics.
import assert from "node:assert/strict";
import { Status } from "../../shared/errors.ts";
import { UpdateState } from "../../shared/update_codec.ts";
import { recordingLogger, withServer } from "../testing/server.ts";
import { callHttp, fakeFirmware, NAME, releaseDir, TestBoard } from "../testing/releases.ts";
import { DeviceRegistry } from "./registry.ts";
import { sighting } from "../testing/sighting.ts";
import { until } from "../testing/until.ts";
import type { InferenceServer } from "../inference_server.ts";

const ADMIN = "admin-token-0123456789";
const RELEASE = `${NAME}/1.0.1`;

/**
 * A real server that forgets a device after 1 s, running a rollout of `RELEASE` to every
 * device; `fn` is given it and a wait until device `id` is forgotten.
 */
async function withForgettingRollout(
  seed: number,
  fn: (
    server: InferenceServer,
    forgotten: (id: string) => Promise<void>,
  ) => Promise<void>,
): Promise<void> {
  const dir = await releaseDir({ "1.0.1": fakeFirmware(1300, seed) });
  try {
    await withServer({
      httpPort: 0,
      warmUpMs: 0,
      adminToken: ADMIN,
      firmwareDir: dir,
      // Two seconds: a board's requests one after another stay well inside it on a loaded host.
      deviceForgetAfter: 2,
    }, async (server) => {
      const body = { release: RELEASE, share: 1 };
      assert.equal(
        (await callHttp(server, "POST", "/v2/fleet/rollouts", { token: ADMIN, body })).status,
        201,
      );
      // Quiet past --device-forget-after, as a device view says (it sweeps nothing, so the
      // registry's next sweep is due when the board comes back).
      const forgotten = (id: string) =>
        until(
          async () =>
            (await callHttp(server, "GET", `/v2/fleet/devices/${id}`, { token: ADMIN })).status ===
              404,
          `device ${id} forgotten`,
        );
      await fn(server, forgotten);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a device back after --device-forget-after can fetch the update its reply offered", async () => {
  await withForgettingRollout(3, async (server, forgotten) => {
    const first = await TestBoard.connect(server, "porch", "1.0.0");
    assert.equal((await first.infer()).update?.release, RELEASE);
    assert.equal((await first.chunk(RELEASE, 0)).status, Status.OK);
    first.close();
    await forgotten("porch");
    const back = await TestBoard.connect(server, "porch", "1.0.0");
    try {
      const reply = await back.infer();
      assert.equal(reply.update?.release, RELEASE, "offered again, as a device never seen");
      const chunk = await back.chunk(RELEASE, 512);
      assert.equal(chunk.status, Status.OK, chunk.error);
      const device = await callHttp(server, "GET", "/v2/fleet/devices/porch", { token: ADMIN });
      assert.equal(device.body.update?.state, "downloading");
      const rollout = await callHttp(server, "GET", "/v2/fleet/rollouts/r1", { token: ADMIN });
      assert.equal(rollout.body.device_states.porch?.state, "downloading");
    } finally {
      back.close();
    }
  });
});

Deno.test("a device back after --device-forget-after, before a sweep, left its old update behind", async () => {
  await withForgettingRollout(4, async (server, forgotten) => {
    const first = await TestBoard.connect(server, "attic", "1.0.0");
    assert.equal((await first.infer()).update?.release, RELEASE);
    assert.equal((await first.report(RELEASE, UpdateState.FAILED, "no room")).status, Status.OK);
    first.close();
    await forgotten("attic");
    const back = await TestBoard.connect(server, "attic", "1.0.0");
    try {
      assert.equal((await back.infer()).update?.release, RELEASE, "as to a device never seen");
      const device = await callHttp(server, "GET", "/v2/fleet/devices/attic", { token: ADMIN });
      assert.equal(device.body.update?.state, "offered");
      assert.equal(device.body.update?.reason, null);
    } finally {
      back.close();
    }
  });
});

Deno.test("--max-devices drops the tenth heard from least recently and says so in the log and /metrics", async () => {
  const { log, lines } = recordingLogger("warn");
  await withServer({ httpPort: 0, warmUpMs: 0, maxDevices: 20, log }, async (server) => {
    // 25 boards, the first 20 at once (their replies may share one millisecond), then 5 more.
    const connect = (i: number) => TestBoard.connect(server, `b-${i}`, "1.0.0");
    const boards = await Promise.all(Array.from({ length: 20 }, (_, i) => connect(i)));
    await Promise.all(boards.map((b) => b.infer()));
    for (let i = 20; i < 25; i++) {
      const b = await connect(i);
      await b.infer();
      boards.push(b);
    }
    for (const b of boards) b.close();
    const list = await callHttp(server, "GET", "/v2/fleet/devices?limit=0");
    // The 21st, 23rd and 25th find 20 and drop 2 of the first 20 (a tenth) each: 19 left.
    assert.equal(list.body.total, 19);
    const warnings = lines.filter((l) => l.includes("fleet registry full"));
    assert.equal(warnings.length, 3, lines.join("\n"));
    assert.match(warnings[0], /devices=2 .*max_devices=20/);
    const metrics = await (await fetch(`http://127.0.0.1:${server.http!.addr.port}/metrics`))
      .text();
    assert.match(metrics, /^mnist_devices_evicted_total 6$/m);
    for (const id of ["b-20", "b-21", "b-22", "b-23", "b-24"]) {
      const one = await callHttp(server, "GET", `/v2/fleet/devices/${id}`);
      assert.equal(one.status, 200, `${id}, heard from last, stays`);
    }
  });
});

Deno.test("registry: a device forgotten but not yet swept, back at the cap, is not the one evicted", () => {
  let now = 0;
  const fleet = new DeviceRegistry({
    silentAfterMs: 10,
    forgetAfterMs: 100,
    maxDevices: 2,
    now: () => now,
  });
  const forgotten: string[] = [];
  fleet.onForget = (id) => forgotten.push(id);
  fleet.record(sighting("a"));
  now = 50;
  fleet.record(sighting("b"));
  now = 95;
  fleet.record(sighting("b")); // sweeps: "a" is not yet quiet for 100 ms
  now = 101;
  fleet.record(sighting("a")); // quiet past 100 ms, no sweep due until 105: it starts again
  assert.deepEqual(forgotten, [], "neither the device heard now nor another one went");
  assert.equal(fleet.get("a")?.requests, 1);
  assert.equal(fleet.get("b")?.requests, 2);
});

Deno.test("registry: one millisecond's devices at the cap lose only the tenth", () => {
  const fleet = new DeviceRegistry({
    silentAfterMs: 10,
    forgetAfterMs: 1e9,
    maxDevices: 100,
    now: () => 7,
  });
  const evictions: number[] = [];
  fleet.onEvict = (count) => evictions.push(count);
  for (let i = 0; i < 128; i++) fleet.record(sighting(`b-${i}`));
  assert.equal(fleet.size, 98);
  assert.deepEqual(evictions, [10, 10, 10]);
  assert.equal(fleet.evicted, 30);
});
