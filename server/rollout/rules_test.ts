// The rules on figures made by hand: each trips past its limit, never before
// the minimum of samples, and 0 (1 for the error rate) turns it off.
import assert from "node:assert/strict";
import { Status } from "../../shared/errors.ts";
import { ShadowFigures, VersionFigures } from "./figures.ts";
import { canaryRule, shadowRule } from "./rules.ts";
import type { Canary } from "./rollout.ts";

const rules = {
  shadowMinAgreement: 0.99,
  canaryMaxErrorRate: 0.01,
  canaryMaxLowConfidenceRatio: 2,
  rolloutMinSamples: 100,
};
const sure = [{ scores: Float32Array.of(0.95, 0.05, 0, 0, 0, 0, 0, 0, 0, 0) }];
const unsure = [{ scores: Float32Array.of(0.3, 0.3, 0.4, 0, 0, 0, 0, 0, 0, 0) }];

function canary(): Canary {
  return {
    share: 0.5,
    devices: null,
    started: 0,
    includes: () => true,
    serving: new VersionFigures(1, 0.5),
    candidate: new VersionFigures(2, 0.5),
  };
}

Deno.test("the shadow rule trips below the agreement once enough digits are compared", () => {
  const shadow = new ShadowFigures(2, 1, 0.5);
  const answer = (predicted: number) => ({ version: 1, predicted, scores: new Float32Array(10) });
  const compare = (agree: boolean) =>
    shadow.compare({
      model: "mnist",
      deviceId: "d",
      digitU8: new Uint8Array(784),
      digit: null,
      serving: answer(7),
      candidate: answer(agree ? 7 : 2),
      agree,
    });
  for (let i = 0; i < 97; i++) compare(true);
  for (let i = 0; i < 2; i++) compare(false);
  assert.equal(shadowRule(shadow, rules), null, "99 compared: not judged yet");
  compare(false);
  assert.deepEqual(shadowRule(shadow, rules), {
    rule: "shadow_agreement",
    value: 0.97,
    limit: 0.99,
  });
  assert.equal(shadowRule(shadow, { ...rules, shadowMinAgreement: 0 }), null);
  assert.equal(shadow.json().confusion[0].count, 3);
  assert.equal(shadow.json().confusion[0].examples.length, 3);
});

Deno.test("the canary rules: failures above the rate; low confidence above the ratio of the serving version's", () => {
  const c = canary();
  for (let i = 0; i < 98; i++) c.candidate.add(Status.OK, "OK", 1, sure);
  c.candidate.add(Status.SERVER_BUSY, "SERVER_BUSY", 1, null);
  c.candidate.add(Status.INTERNAL_ERROR, "INTERNAL_ERROR", 1, null);
  assert.equal(canaryRule(c, rules), null, "1 failure in 100 (busy is load, not a failure)");
  c.candidate.add(Status.INTERNAL_ERROR, "INTERNAL_ERROR", 1, null);
  assert.equal(canaryRule(c, rules)?.rule, "canary_error_rate");
  assert.equal(canaryRule(c, { ...rules, canaryMaxErrorRate: 1 }), null);

  const low = canary();
  for (let i = 0; i < 100; i++) low.serving.add(Status.OK, "OK", 1, i < 5 ? unsure : sure);
  for (let i = 0; i < 100; i++) low.candidate.add(Status.OK, "OK", 1, i < 10 ? unsure : sure);
  assert.equal(canaryRule(low, rules), null, "10% is 2x the serving 5%, not above");
  low.candidate.add(Status.OK, "OK", 1, unsure);
  assert.equal(canaryRule(low, rules)?.rule, "canary_low_confidence");
  assert.equal(canaryRule(low, { ...rules, canaryMaxLowConfidenceRatio: 0 }), null);
});
