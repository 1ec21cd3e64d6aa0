// Widening a code rollout on a real server, over real framed connections: stopping a 10% rollout
// and starting a 50% one of the same release carries the downloads under way over, so a board
// mid-download goes on fetching its chunks, and one that failed the release is not offered it
// again; a rollout of another release carries none over and offers it to both.
import assert from "node:assert/strict";
import { Status } from "../../shared/errors.ts";
import { UpdateState } from "../../shared/update_codec.ts";
import { withServer } from "../testing/server.ts";
import { callHttp, fakeFirmware, NAME, releaseDir, TestBoard } from "../testing/releases.ts";
import { inCohort } from "./cohort.ts";

const ADMIN = "admin-token-0123456789";
const RELEASE = `${NAME}/1.0.1`;
const OTHER = `${NAME}/1.0.2`;

/** `count` ids in a 10% cohort. */
function tenPercent(count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) if (inCohort(`widen-${i}`, 0.1)) ids.push(`widen-${i}`);
  return ids;
}

Deno.test("a rollout widened (10% stopped, 50% started) carries its downloads under way over, not its failures", async () => {
  const dir = await releaseDir({ "1.0.1": fakeFirmware(1600, 5), "1.0.2": fakeFirmware(900, 6) });
  const admin = { token: ADMIN };
  try {
    await withServer(
      { httpPort: 0, warmUpMs: 0, adminToken: ADMIN, firmwareDir: dir },
      async (server) => {
        const [a, b] = tenPercent(2);
        const boards = await Promise.all(
          [a, b].map((id) => TestBoard.connect(server, id, "1.0.0")),
        );
        const [boardA, boardB] = boards;
        try {
          const r1 = await callHttp(server, "POST", "/v2/fleet/rollouts", {
            ...admin,
            body: { release: RELEASE, share: 0.1 },
          });
          for (const board of boards) assert.equal((await board.infer()).update?.release, RELEASE);
          assert.equal((await boardA.chunk(RELEASE, 0)).status, Status.OK);
          assert.equal(
            (await boardB.report(RELEASE, UpdateState.FAILED, "no room")).status,
            Status.OK,
          );

          await callHttp(server, "POST", `/v2/fleet/rollouts/${r1.body.id}/stop`, admin);
          const r2 = await callHttp(server, "POST", "/v2/fleet/rollouts", {
            ...admin,
            body: { release: RELEASE, share: 0.5 },
          });
          assert.equal(r2.status, 201);
          const next = await boardA.chunk(RELEASE, 512);
          assert.equal(next.status, Status.OK, next.error);
          assert.equal(next.chunk?.offset, 512);
          const device = await callHttp(server, "GET", `/v2/fleet/devices/${a}`, admin);
          assert.deepEqual([device.body.update.rollout, device.body.update.state], [
            r2.body.id,
            "downloading",
          ]);
          // The board that failed the release never fetches it again: not offered it again either.
          assert.equal((await boardB.infer()).update, null);
          const views = await callHttp(server, "GET", "/v2/fleet/rollouts", admin);
          const [old, wide] = views.body.rollouts;
          assert.equal(old.counts.downloading, 0, "the download went over to the wider rollout");
          assert.equal(old.counts.failed, 1, "an update that ended stays with its rollout");
          assert.equal(wide.counts.downloading, 1);
          assert.equal(wide.counts.offered, 0);

          // A rollout of another release carries nothing over: that release's chunks stop.
          await callHttp(server, "POST", `/v2/fleet/rollouts/${r2.body.id}/stop`, admin);
          const r3 = await callHttp(server, "POST", "/v2/fleet/rollouts", {
            ...admin,
            body: { release: OTHER, share: 1 },
          });
          assert.equal(r3.status, 201);
          assert.equal((await boardA.chunk(RELEASE, 1024)).status, Status.UPDATE_UNAVAILABLE);
          assert.equal((await boardA.infer()).update?.release, OTHER);
          assert.equal((await boardB.infer()).update?.release, OTHER, "another release is offered");
        } finally {
          for (const board of boards) board.close();
        }
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
