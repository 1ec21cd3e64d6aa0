// A fleet's code rollouts over a long life: stopped ones are kept for their
// views up to KEPT_STOPPED_ROLLOUTS, newest first; running and paused ones
// always. Real release folders, the real store.
import assert from "node:assert/strict";
import { WireError } from "../../shared/errors.ts";
import { UpdateState } from "../../shared/update_codec.ts";
import { fakeFirmware, NAME, releaseDir } from "../testing/releases.ts";
import { ReleaseStore, writeRelease } from "./releases.ts";
import { FleetUpdates, KEPT_STOPPED_ROLLOUTS } from "./updates.ts";

Deno.test("stopped rollouts past KEPT_STOPPED_ROLLOUTS go, oldest first; open ones stay", async () => {
  const dir = await releaseDir({ "1.0.1": fakeFirmware(300, 1) });
  try {
    await writeRelease(dir, "other-board 2.0.0", fakeFirmware(300, 2));
    const store = new ReleaseStore(dir);
    await store.rescan();
    const updates = new FleetUpdates({ store, maxFailures: 2, perMinute: 100 });
    // A paused rollout of another board's firmware (one of a name may be open at a time).
    const paused = updates.start({
      release: "other-board/2.0.0",
      share: 0.1,
      devices: null,
      perMinute: 10,
    });
    assert.ok(!(paused instanceof WireError), String(paused));
    // A pipeline that starts and stops a rollout per build.
    const ids: string[] = [];
    for (let i = 0; i < KEPT_STOPPED_ROLLOUTS + 20; i++) {
      if (i === 0) updates.change(paused.id, "pause");
      const r = updates.start({ release: `${NAME}/1.0.1`, share: 1, devices: null, perMinute: 10 });
      assert.ok(!(r instanceof WireError), String(r));
      ids.push(r.id);
      // The first rollout offers one board, the last another.
      if (i === 0) {
        const offer = updates.offer("board-early", `${NAME} 1.0.0`, "");
        assert.ok(offer);
        // It failed: done with this rollout, so no later one carries it over.
        assert.equal(
          updates.report("board-early", { ...offer, state: UpdateState.FAILED }, "CRC"),
          null,
        );
      }
      if (i === KEPT_STOPPED_ROLLOUTS + 19) {
        assert.ok(updates.offer("board-late", `${NAME} 1.0.0`, ""));
      }
      assert.ok(!(updates.change(r.id, "stop") instanceof WireError));
    }
    const kept = updates.list();
    assert.equal(kept.filter((r) => r.state === "stopped").length, KEPT_STOPPED_ROLLOUTS);
    assert.deepEqual(
      kept.filter((r) => r.state === "stopped").map((r) => r.id),
      ids.slice(20),
      "the newest are kept",
    );
    assert.equal(updates.get(ids[19]), null);
    // A device whose update ended under a forgotten rollout is forgotten with it, not left naming it.
    assert.equal(updates.deviceView("board-early"), null);
    assert.equal(updates.deviceView("board-late")?.rollout, ids.at(-1));
    assert.equal(updates.get(paused.id)?.state, "paused", "an open rollout is never forgotten");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
