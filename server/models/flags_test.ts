import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import {
  DEFAULT_CAPTURE_RATE,
  envName,
  FlagError,
  MODEL_FLAGS,
  MODEL_USAGE,
  modelSettings,
} from "./flags.ts";
import { DEFAULT_REPOSITORY } from "./repository.ts";

const settings = (args: string[], env: Record<string, string> = {}) =>
  modelSettings(parseArgs({ args, options: { ...MODEL_FLAGS } }).values, (name) => env[name]);

Deno.test("defaults: the bundled repository, mnist, no polling, no token, no capture", () => {
  assert.deepEqual(settings([]), {
    repository: DEFAULT_REPOSITORY,
    file: null,
    defaultModel: "mnist",
    allowChecksumMismatch: false,
    pollSeconds: 0,
    adminToken: null,
    capture: null,
  });
});

Deno.test("every flag has its MNIST_ variable; flags win", () => {
  assert.equal(envName("capture-max-mb"), "MNIST_CAPTURE_MAX_MB");
  const env = {
    MNIST_MODEL_REPOSITORY: "/srv/models",
    MNIST_DEFAULT_MODEL: "fast",
    MNIST_ALLOW_CHECKSUM_MISMATCH: "true",
    MNIST_POLL_SECONDS: "30",
    MNIST_ADMIN_TOKEN: "a".repeat(32),
    MNIST_CAPTURE: "/var/lib/mnist/capture",
    MNIST_CAPTURE_RATE: "0.5",
    MNIST_CAPTURE_MAX_MB: "2",
  };
  assert.deepEqual(settings([], env), {
    repository: "/srv/models",
    file: null,
    defaultModel: "fast",
    allowChecksumMismatch: true,
    pollSeconds: 30,
    adminToken: "a".repeat(32),
    capture: { dir: "/var/lib/mnist/capture", rate: 0.5, maxBytes: 2 * 1024 * 1024 },
  });
  const flags = settings(
    ["--poll-seconds", "5", "--capture-rate", "1", "--model-repository", "m"],
    env,
  );
  assert.equal(flags.pollSeconds, 5);
  assert.equal(flags.capture?.rate, 1);
  assert.equal(flags.repository, "m");
  assert.equal(settings(["--capture", "/c"]).capture?.rate, DEFAULT_CAPTURE_RATE);
});

Deno.test("--model FILE is served instead of a repository", () => {
  const s = settings(["--model", "server/testdata/dense_784x10.onnx"]);
  assert.equal(s.file, "server/testdata/dense_784x10.onnx");
  assert.equal(s.repository, null);
});

Deno.test("mistakes are one sentence naming the flag", () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["--model", "a.onnx", "--model-repository", "m"], {}, /exclude each other/],
    [["--model", "a.onnx"], { MNIST_MODEL_REPOSITORY: "m" }, /exclude each other/],
    [["--poll-seconds=-1"], {}, /--poll-seconds \(or MNIST_POLL_SECONDS\) cannot be "-1"/],
    [["--poll-seconds", "soon"], {}, /cannot be "soon"/],
    [["--capture", "c", "--capture-rate", "1.5"], {}, /--capture-rate .* cannot be "1\.5"/],
    [["--capture", "c", "--capture-max-mb", "0"], {}, /--capture-max-mb .* cannot be "0"/],
    [["--capture-rate", "0.1"], {}, /need --capture DIR/],
    [["--admin-token", "short"], {}, /at least 16 characters/],
    [["--default-model", "../etc"], {}, /--default-model must be a folder name/],
    [["--capture", ""], {}, /--capture \(or MNIST_CAPTURE\) must not be empty/],
    [[], { MNIST_ALLOW_CHECKSUM_MISMATCH: "maybe" }, /must be true or false, got "maybe"/],
  ];
  for (const [args, env, message] of cases) {
    assert.throws(
      () => settings(args, env),
      (e: Error) => e instanceof FlagError && message.test(e.message) && !e.message.includes("\n"),
      `${args.join(" ")} ${JSON.stringify(env)}`,
    );
  }
});

Deno.test("the help lists every flag", () => {
  for (const flag of Object.keys(MODEL_FLAGS)) assert.match(MODEL_USAGE, new RegExp(`--${flag} `));
});
