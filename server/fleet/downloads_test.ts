// A board's download of an offered release on a real server over real framed
// connections: chunks carry the file's bytes and their CRC-32 only to
// devices offered it, reports move states, and too many failures pause the
// rollout.
import assert from "node:assert/strict";
import { crc32 } from "../../shared/crc32.ts";
import { Status } from "../../shared/errors.ts";
import { UpdateState } from "../../shared/update_codec.ts";
import { recordingLogger } from "../testing/server.ts";
import { callHttp, NAME, TestBoard } from "../testing/releases.ts";
import { ADMIN } from "../testing/rollout.ts";
import { CODE, NEW, OLD, RELEASE, withUpdates } from "../testing/code_updates.ts";

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
