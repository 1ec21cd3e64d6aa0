import assert from "node:assert/strict";
import { autoThreads, envName, NATIVE_AUTO_THREADS, OPTIONS, serverDefaults } from "./config.ts";
import { configurationDoc, usage } from "./config_help.ts";
import { ConfigError, resolveConfig, type ServerConfig } from "./config_resolve.ts";
import { withServerDefaults } from "./options.ts";

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
  assert.equal(resolved([]).batchMs, 3);
  assert.equal(resolved(["--capture", "/tmp/c"]).captureSettings?.rule.sample, 0.01);
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

Deno.test("--threads takes auto or a count: WASM 1, native the cores shared among its instances", () => {
  assert.equal(resolved([]).threadsCount, 1);
  const cores = navigator.hardwareConcurrency;
  assert.equal(resolved(["--engine", "native"]).threadsCount, Math.min(cores, NATIVE_AUTO_THREADS));
  assert.equal(resolved(["--engine", "native", "--threads", "3"]).threadsCount, 3);
  assert.equal(autoThreads("native", 1, 2), 2);
  assert.equal(autoThreads("native", 2, 2), 1);
  assert.equal(autoThreads("native", 1, 64), NATIVE_AUTO_THREADS);
  assert.equal(autoThreads("native", 4, 16), 4);
  assert.equal(autoThreads("wasm", 1, 64), 1);
  const refused = resolveConfig(["--threads", "many"], {});
  assert.ok(refused instanceof ConfigError);
  assert.match(
    refused.message,
    /--threads must be "auto" or a whole number from 1 to 64, got "many"/,
  );
  assert.equal(withServerDefaults({}).threads, 1, "the threads row's `library` default");
});

Deno.test("startServer's defaults are the table's, with the table's own exceptions (instances, warm-up)", () => {
  const command = resolved([]);
  const program = withServerDefaults({});
  for (const spec of OPTIONS) {
    const key = spec.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if ("server" in spec && "default" in spec && !("library" in spec)) {
      assert.equal(
        (program as unknown as Record<string, unknown>)[key],
        (command as Record<string, unknown>)[key],
        spec.flag,
      );
    }
  }
  assert.equal(program.hostname, command.host);
  assert.equal(program.instances, 1, "the instances row's `library` default");
  assert.equal(program.warmUpMs, 0, "a program's server starts at once; the command line's warms");
  assert.equal(command.warmUpMs, 3000);
  assert.equal(program.verifyChecksum, true);
  assert.equal(withServerDefaults({ port: 0 }).httpPort, 0, "a free board port, a free HTTP port");
  assert.equal(withServerDefaults({ port: 0, httpPort: null }).httpPort, null);
  assert.equal(withServerDefaults({ maxBatch: undefined }).maxBatch, serverDefaults().maxBatch);
});

Deno.test("--help: grouped, essentials first, within 100 columns, every flag once", () => {
  const help = usage();
  const lines = help.split("\n");
  assert.ok(lines.every((line) => line.length <= 100), lines.find((l) => l.length > 100));
  const headings = lines.filter((line) => /^\S.*:$/.test(line));
  assert.deepEqual(headings.slice(0, 2), ["Ports, model and engine:", "Limits and timeouts:"]);
  const at = (flag: string) => help.indexOf(`\n  --${flag} `);
  assert.ok(at("port") < at("max-batch") && at("engine") < at("max-batch"));
  assert.ok(at("max-batch") < at("tokens") && at("tokens") < at("tls-cert"));
  assert.ok(at("tls-cert") < at("capture") && at("capture") < at("log-level"));
  for (const spec of OPTIONS) {
    const rows = lines.filter((line) => new RegExp(`^  --${spec.flag}( |$)`).test(line));
    assert.equal(rows.length, 1, spec.flag);
  }
  assert.match(help, /\(default 3\)/, "batch-ms's default, from the table");
  assert.ok(help.includes("MNIST_MAX_BATCH"), "the variables' rule, with an example");
});

Deno.test("mistakes come back as one-sentence ConfigErrors, with a near flag named", () => {
  for (
    const [args, env] of [
      [["--port", "-1"], {}],
      [["--threads", "1.5"], {}],
      [[], { MNIST_LOG_LEVEL: "chatty" }],
      [["--what"], {}],
      [["--no-http", "x"], {}],
      [["--capture-rule", "sample:0.5"], {}],
      [["--capture", "/tmp/c", "--capture-rule", "below:7"], {}],
      [["--capture-rate", "0.5"], {}],
      // A bearer token is one word: one with a space never matches.
      [[], { MNIST_ADMIN_TOKEN: "my admin pass phrase" }],
      [["--operator-token", "operator token phrase"], {}],
      [["--metrics-token", "metrics\ttoken-with-a-tab"], {}],
    ] as [string[], Record<string, string>][]
  ) {
    const error = resolveConfig(args, env);
    assert.ok(error instanceof ConfigError, `${args} ${JSON.stringify(env)}`);
    assert.ok(!error.message.includes("\n"));
  }
  // The three operator tokens are held to one rule: at least 16 characters.
  for (const flag of ["--admin-token", "--operator-token", "--metrics-token"]) {
    const short = resolveConfig([flag, "x".repeat(15)], {});
    assert.ok(short instanceof ConfigError);
    assert.equal(short.message, `${flag} must be at least 16 characters`);
    assert.ok(!(resolveConfig([flag, "x".repeat(16)], {}) instanceof ConfigError));
  }
  const near = resolveConfig(["--max-bach", "3"], {});
  assert.ok(near instanceof ConfigError);
  assert.equal(near.message, "unknown flag --max-bach; did you mean --max-batch?");
  assert.equal(resolveConfig(["-h"], {}), "help");
});

Deno.test("docs/configuration.md is what the option table makes (deno task docs:config)", async () => {
  const file = await Deno.readTextFile(new URL("../docs/configuration.md", import.meta.url));
  assert.equal(
    file,
    configurationDoc(),
    "docs/configuration.md is stale: run deno task docs:config",
  );
  for (const spec of OPTIONS) {
    assert.ok(file.includes(`\`--${spec.flag}`), spec.flag);
    assert.ok(file.includes(`\`${envName(spec.flag)}\``), envName(spec.flag));
  }
});
