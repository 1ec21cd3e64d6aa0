import assert from "node:assert/strict";
import { type ModelOptionValues, modelSettings, ModelSettingsError } from "./model_flags.ts";

const DEFAULTS: ModelOptionValues = {
  defaultModel: "mnist",
  captureRule: "below:0.5,disagree,sample:0.01",
  captureMaxMb: 100,
};

Deno.test("no capture unless --capture; its rule and size as resolved", () => {
  assert.deepEqual(modelSettings(DEFAULTS, new Set()), { capture: null });
  assert.deepEqual(
    modelSettings(
      {
        ...DEFAULTS,
        capture: "/var/lib/mnist/capture",
        captureRule: "sample:0.5",
        captureMaxMb: 2,
      },
      new Set(["capture", "capture-rule", "capture-max-mb"]),
    ).capture,
    {
      dir: "/var/lib/mnist/capture",
      rule: { below: null, disagree: false, sample: 0.5 },
      maxBytes: 2 * 1024 * 1024,
    },
  );
});

Deno.test("a default is never a conflict: --model beside the default repository", () => {
  const s = modelSettings({ ...DEFAULTS, model: "server/testdata/dense_784x10.onnx" }, new Set());
  assert.equal(s.capture, null);
});

Deno.test("mistakes are one sentence naming the option", () => {
  const cases: [Partial<ModelOptionValues>, string[], RegExp][] = [
    [{ model: "a.onnx" }, ["model", "model-repository"], /exclude each other/],
    [{}, ["capture-rule"], /need --capture DIR/],
    [{ capture: "/c", captureRule: "below:2" }, ["capture", "capture-rule"], /below takes a score/],
    [{}, ["capture-max-mb"], /need --capture DIR/],
    [{ defaultModel: "./etc" }, ["default-model"], /--default-model must be a folder name/],
  ];
  for (const [values, given, message] of cases) {
    assert.throws(
      () => modelSettings({ ...DEFAULTS, ...values }, new Set(given)),
      (e: Error) =>
        e instanceof ModelSettingsError && message.test(e.message) && !e.message.includes("\n"),
      JSON.stringify(values),
    );
  }
});
