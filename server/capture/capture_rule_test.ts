import assert from "node:assert/strict";
import {
  captureReason,
  CaptureRuleError,
  formatCaptureRule,
  parseCaptureRule,
} from "./capture_rule.ts";

Deno.test("terms combine with commas, in any order, spaces allowed", () => {
  assert.deepEqual(parseCaptureRule("below:0.6"), { below: 0.6, disagree: false, sample: 0 });
  assert.deepEqual(parseCaptureRule("sample:0.05, disagree ,below:1"), {
    below: 1,
    disagree: true,
    sample: 0.05,
  });
  for (const text of ["below:0.5,disagree,sample:0.01", "disagree", "sample:1"]) {
    assert.equal(formatCaptureRule(parseCaptureRule(text)), text);
  }
});

Deno.test("a rule that cannot be read is one sentence naming the rule and the term", () => {
  const cases: [string, RegExp][] = [
    ["", /give at least one term/],
    ["below", /below takes a score from 0 to 1 after a colon, as in below:0\.6, got "below"/],
    ["below:1.5", /below takes a score from 0 to 1/],
    ["below:-0.1", /below takes a score/],
    ["below:0.5:1", /below takes a score/],
    ["sample:abc", /sample takes a share from 0 to 1/],
    ["sample:", /sample takes a share/],
    ["disagree:0.5", /disagree takes no value/],
    ["often", /unknown term "often"; the terms are below:C, disagree and sample:R/],
    ["below:0.5,below:0.6", /"below" is given twice/],
    ["disagree,", /unknown term ""/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseCaptureRule(text),
      (e: Error) =>
        e instanceof CaptureRuleError && message.test(e.message) &&
        e.message.startsWith(`--capture-rule "${text}": `) && !e.message.includes("\n"),
      text,
    );
  }
});

Deno.test("the reason is the first term that holds: below, then disagree, then sample", () => {
  const rule = parseCaptureRule("below:0.6,disagree,sample:0.5");
  const never = () => 0.99;
  const always = () => 0;
  assert.equal(captureReason(rule, { confidence: 0.5, disagrees: true }, always), "below");
  assert.equal(captureReason(rule, { confidence: 0.6, disagrees: true }, always), "disagree");
  assert.equal(captureReason(rule, { confidence: 0.9, disagrees: false }, always), "sample");
  assert.equal(captureReason(rule, { confidence: 0.9, disagrees: null }, never), null);
  let draws = 0;
  captureReason(rule, { confidence: 0.1, disagrees: null }, () => (draws++, 0));
  assert.equal(draws, 0, "no random number is drawn once a term holds");
  assert.equal(
    captureReason(parseCaptureRule("sample:0"), { confidence: 0, disagrees: true }, always),
    null,
  );
});
