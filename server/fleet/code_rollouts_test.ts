// A rollout's pace over time (a clock of the test's) and its cohort.
import assert from "node:assert/strict";
import { inCohort } from "./cohort.ts";
import type { Release } from "./releases.ts";
import { CodeRollout } from "./code_rollouts.ts";

const release = { id: "mnist-device/2", name: "mnist-device", version: "2" } as Release;

Deno.test("the pace lets per_minute devices in any 60 seconds, then more as the minute moves on", () => {
  const rollout = new CodeRollout("r1", release, {
    release: release.id,
    share: 1,
    devices: null,
    perMinute: 2,
  }, 0);
  assert.deepEqual([0, 1_000, 2_000].map((t) => rollout.takePace(t)), [true, true, false]);
  assert.equal(rollout.takePace(59_999), false);
  assert.equal(rollout.takePace(60_000), true, "the first offer's minute is over");
  assert.equal(rollout.takePace(60_500), false);
  assert.equal(rollout.takePace(61_000), true);
});

Deno.test("a share picks the cohort hash's devices; a list picks exactly its own", () => {
  const ids = Array.from({ length: 200 }, (_, i) => `dev-${i}`);
  const shared = new CodeRollout("r1", release, {
    release: release.id,
    share: 0.3,
    devices: null,
    perMinute: 1,
  }, 0);
  assert.deepEqual(ids.filter((id) => shared.includes(id)), ids.filter((id) => inCohort(id, 0.3)));
  const listed = new CodeRollout("r2", release, {
    release: release.id,
    share: null,
    devices: ["dev-3", "dev-7"],
    perMinute: 1,
  }, 0);
  assert.deepEqual(ids.filter((id) => listed.includes(id)), ["dev-3", "dev-7"]);
});

Deno.test("a stopped rollout lets go of its cohort memo and its pace", () => {
  const rollout = new CodeRollout("r1", release, {
    release: release.id,
    share: 0.5,
    devices: null,
    perMinute: 1,
  }, 0);
  for (let i = 0; i < 1_000; i++) rollout.includes(`dev-${i}`);
  assert.equal(rollout.remembered, 1_000);
  assert.equal(rollout.takePace(0), true);
  rollout.stop();
  assert.equal(rollout.state, "stopped");
  assert.equal(rollout.remembered, 0, "a stopped rollout offers nobody: its memo is let go");
});
