import assert from "node:assert/strict";
import {
  DEFAULT_CAPTURE_MAX_MB,
  DEFAULT_CAPTURE_RATE,
  MODEL_OPTIONS,
  modelSettings,
  ModelSettingsError,
} from "./flags.ts";
import { DEFAULT_REPOSITORY } from "./repository.ts";

Deno.test("defaults: the bundled repository, mnist, no polling, no token, no capture", () => {
  assert.deepEqual(modelSettings({}), {
    repository: DEFAULT_REPOSITORY,
    file: null,
    defaultModel: "mnist",
    allowChecksumMismatch: false,
    pollSeconds: 0,
    adminToken: null,
    capture: null,
  });
});

Deno.test("values as given, and the capture defaults", () => {
  assert.deepEqual(
    modelSettings({
      modelRepository: "/srv/models",
      defaultModel: "fast",
      allowChecksumMismatch: true,
      pollSeconds: 30,
      adminToken: "a".repeat(32),
      capture: "/var/lib/mnist/capture",
      captureRate: "0.5",
      captureMaxMb: 2,
    }),
    {
      repository: "/srv/models",
      file: null,
      defaultModel: "fast",
      allowChecksumMismatch: true,
      pollSeconds: 30,
      adminToken: "a".repeat(32),
      capture: { dir: "/var/lib/mnist/capture", rate: 0.5, maxBytes: 2 * 1024 * 1024 },
    },
  );
  assert.deepEqual(modelSettings({ capture: "/c" }).capture, {
    dir: "/c",
    rate: DEFAULT_CAPTURE_RATE,
    maxBytes: DEFAULT_CAPTURE_MAX_MB * 1024 * 1024,
  });
});

Deno.test("--model FILE is served instead of a repository", () => {
  const s = modelSettings({ model: "server/testdata/dense_784x10.onnx" });
  assert.equal(s.file, "server/testdata/dense_784x10.onnx");
  assert.equal(s.repository, null);
});

Deno.test("mistakes are one sentence naming the option", () => {
  const cases: [Parameters<typeof modelSettings>[0], RegExp][] = [
    [{ model: "a.onnx", modelRepository: "m" }, /exclude each other/],
    [
      { capture: "c", captureRate: "1.5" },
      /--capture-rate must be a fraction from 0 to 1, got "1\.5"/,
    ],
    [{ capture: "c", captureRate: "often" }, /got "often"/],
    [{ capture: "c", captureRate: " " }, /--capture-rate must be/],
    [{ captureRate: "0.1" }, /need --capture DIR/],
    [{ captureMaxMb: 5 }, /need --capture DIR/],
    [{ adminToken: "short" }, /at least 16 characters/],
    [{ defaultModel: "../etc" }, /--default-model must be a folder name/],
  ];
  for (const [values, message] of cases) {
    assert.throws(
      () => modelSettings(values),
      (e: Error) =>
        e instanceof ModelSettingsError && message.test(e.message) && !e.message.includes("\n"),
      JSON.stringify(values),
    );
  }
});

Deno.test("the option rows: unique flags, known kinds, defaults their kinds accept", () => {
  const flags = MODEL_OPTIONS.map((o) => o.flag);
  assert.equal(new Set(flags).size, flags.length);
  for (const option of MODEL_OPTIONS) {
    assert.ok(["string", "int", "boolean"].includes(option.kind.type), option.flag);
    assert.ok(option.help.length > 10 && !option.help.includes("\n"), option.flag);
    if ("default" in option && option.kind.type === "int") {
      const n = Number(option.default);
      assert.ok(Number.isInteger(n) && n >= option.kind.min && n <= option.kind.max, option.flag);
    }
  }
});
