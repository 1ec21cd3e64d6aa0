// A canary's serving side across a swap of the serving version: it starts
// again under the version that serves now, and a late answer of the version
// replaced counts on neither side (a figure never mixes two versions).
import assert from "node:assert/strict";
import { Status } from "../../shared/errors.ts";
import type { RequestEvent } from "../core/request.ts";
import { newCanary, observeCanary } from "./canary.ts";
import type { ModelRollout, RolloutRules } from "./rollout.ts";

const RULES: RolloutRules = {
  shadowMinAgreement: 0,
  canaryMaxErrorRate: 1,
  canaryMaxLowConfidenceRatio: 0,
  rolloutMinSamples: 200,
};

/** A served request of one digit, answered by `version`. */
function answered(version: number): RequestEvent {
  const scores = new Float32Array(10).fill(0.1);
  return {
    status: Status.OK,
    code: "OK",
    totalMs: 1,
    deviceId: "board-8",
    digits: 1,
    results: [{
      scores,
      predicted: 0,
      inferenceMs: 0,
      queueMs: 0,
      batchSize: 1,
      modelVersion: version,
    }],
  } as unknown as RequestEvent;
}

Deno.test("a canary's serving side follows the version that serves now, never one a swap replaced", () => {
  const rollout = { model: "mnist", version: 2, servingVersion: 1 } as ModelRollout;
  const canary = newCanary(rollout, { devices: ["board-7"] }, 0.6);
  let serving = 1;
  const servingNow = () => serving;
  observeCanary(rollout, canary, answered(1), RULES, servingNow);
  assert.deepEqual([canary.serving.version, canary.serving.requests], [1, 1]);
  // Version 3 copied in: the side starts again under it.
  serving = 3;
  observeCanary(rollout, canary, answered(3), RULES, servingNow);
  assert.deepEqual([canary.serving.version, canary.serving.requests], [3, 1]);
  assert.equal(rollout.servingVersion, 3);
  // A request version 1 took before the swap, answered after it: counted on neither side.
  observeCanary(rollout, canary, answered(1), RULES, servingNow);
  assert.deepEqual([canary.serving.version, canary.serving.requests], [3, 1]);
  assert.equal(canary.candidate.requests, 0);
  observeCanary(rollout, canary, answered(3), RULES, servingNow);
  assert.deepEqual([canary.serving.version, canary.serving.requests], [3, 2]);
  // The candidate's own answers go to its side.
  observeCanary(rollout, canary, answered(2), RULES, servingNow);
  assert.equal(canary.candidate.requests, 1);
});
