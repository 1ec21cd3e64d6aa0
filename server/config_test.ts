import assert from "node:assert/strict";
import {
  ConfigError,
  envName,
  OPTIONS,
  resolveConfig,
  type ServerConfig,
  usage,
} from "./config.ts";

function resolved(args: string[], env: Record<string, string> = {}): ServerConfig {
  const config = resolveConfig(args, env);
  assert.ok(typeof config === "object" && !(config instanceof ConfigError), String(config));
  return config;
}

Deno.test("defaults, then environment variables, then flags", () => {
  assert.equal(resolved([]).maxBatch, 128);
  assert.equal(resolved([], { MNIST_MAX_BATCH: "32" }).maxBatch, 32);
  assert.equal(resolved(["--max-batch", "8"], { MNIST_MAX_BATCH: "32" }).maxBatch, 8);
  assert.equal(resolved([], { MNIST_NO_HTTP: "true" }).noHttp, true);
  assert.equal(resolved(["--log-format", "json"]).logFormat, "json");
});

Deno.test("--port 0 implies --http-port 0 unless the HTTP port is given", () => {
  assert.equal(resolved(["--port", "0"]).httpPort, 0);
  assert.equal(resolved(["--port", "0", "--http-port", "9000"]).httpPort, 9000);
  assert.equal(resolved(["--port", "0"], { MNIST_HTTP_PORT: "9001" }).httpPort, 9001);
  assert.equal(resolved([]).httpPort, 8000);
});

Deno.test("--instances takes auto or a count", () => {
  assert.equal(resolved([]).instancesCount, Math.min(navigator.hardwareConcurrency, 16));
  assert.equal(resolved(["--engine", "native"]).instancesCount, 1);
  assert.equal(resolved(["--engine", "native", "--instances", "2"]).instancesCount, 2);
  assert.equal(resolved(["--instances", "3"]).instancesCount, 3);
  assert.ok(resolveConfig(["--instances", "0"], {}) instanceof ConfigError);
});

Deno.test("every option has an environment variable, named in --help", () => {
  const help = usage();
  for (const spec of OPTIONS) {
    assert.ok(help.includes(`--${spec.flag}`), spec.flag);
    assert.ok(help.includes(envName(spec.flag)), envName(spec.flag));
  }
  assert.equal(envName("http-port"), "MNIST_HTTP_PORT");
});

Deno.test("mistakes come back as one-sentence ConfigErrors", () => {
  for (
    const [args, env] of [
      [["--port", "-1"], {}],
      [["--threads", "1.5"], {}],
      [[], { MNIST_LOG_LEVEL: "chatty" }],
      [["--what"], {}],
      [["--no-http", "x"], {}],
    ] as [string[], Record<string, string>][]
  ) {
    const error = resolveConfig(args, env);
    assert.ok(error instanceof ConfigError, `${args} ${JSON.stringify(env)}`);
    assert.ok(!error.message.includes("\n"));
  }
  assert.equal(resolveConfig(["-h"], {}), "help");
});

Deno.test("the README's configuration table lists every option and its variable", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  for (const spec of OPTIONS) {
    assert.ok(readme.includes(`\`--${spec.flag}\``), `--${spec.flag} in README.md`);
    assert.ok(readme.includes(`\`${envName(spec.flag)}\``), `${envName(spec.flag)} in README.md`);
  }
});
