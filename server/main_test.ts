// `deno task serve` as a user runs it: a real process, its printed line, signals.
import assert from "node:assert/strict";
import { InferenceClient } from "../client/client.ts";
import { Status } from "../shared/errors.ts";
import { newToken, tokenLine } from "./auth/tokens.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

function serve(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-read", "--allow-env", MAIN, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  });
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return text.split("\n")[0];
}

Deno.test("--help prints the flags and exits 0", async () => {
  const { code, stdout } = await serve(["--help"]).output();
  const text = new TextDecoder().decode(stdout);
  assert.equal(code, 0);
  for (
    const flag of [
      "--host",
      "--port",
      "--http-port",
      "--no-http",
      "--model",
      "--log-level",
      "--log-format",
      "--help",
      "--instances",
    ]
  ) {
    assert.ok(text.includes(flag), flag);
  }
  assert.ok(text.includes("MNIST_MAX_BATCH"), "every flag names its environment variable");
});

Deno.test("bad flags, variables and addresses get one line and exit 2, never a stack trace", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = blocker.addr.port;
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["--port", "http"], {}, /--port must be a whole number from 0 to 65535, got "http"/],
    [["--port", "99999"], {}, /--port must be a whole number from 0 to 65535/],
    [["--log-level", "loud"], {}, /--log-level must be one of error, warn, info, debug/],
    [["--frobnicate"], {}, /^serve: unknown flag --frobnicate \(deno task serve --help\)$/],
    [
      ["--prot", "1"],
      {},
      /^serve: unknown flag --prot; did you mean --port\? \(deno task serve --help\)$/,
    ],
    [["--instances", "many"], {}, /--instances must be "auto" or a whole number/],
    [["--http-port", "70000"], {}, /--http-port must be a whole number/],
    [["--log-format", "xml"], {}, /--log-format must be one of plain, json/],
    [["--no-http", "--http-port", "8001"], {}, /--no-http and --http-port exclude each other/],
    [
      ["--max-buffered-bytes", "65536"],
      {},
      /--max-http-body \(4194304\) must be at most half of --max-buffered-bytes \(32768\)/,
    ],
    [[], { MNIST_MAX_BATCH: "0", MNIST_PORT: "0" }, /MNIST_MAX_BATCH must be a whole number/],
    [["--host", "1.2.3.4", "--port", "0"], {}, /1\.2\.3\.4 is not an address of this machine/],
    [
      ["--host", "127.0.0.1", "--port", String(taken)],
      {},
      new RegExp(`port ${taken} is already in use .*pass --port$`),
    ],
  ];
  try {
    for (const [args, env, expected] of cases) {
      const { code, stderr } = await serve(args, env).output();
      const text = new TextDecoder().decode(stderr).trim();
      assert.equal(code, 2, args.join(" "));
      assert.match(text, expected);
      assert.equal(text.split("\n").length, 1, `one line for ${args.join(" ")}: ${text}`);
      assert.doesNotMatch(text, /\n\s+at /);
    }
  } finally {
    blocker.close();
  }
  const { code, stderr } = await serve(["--model", "/nonexistent.onnx", "--port", "0"]).output();
  assert.equal(code, 2);
  assert.match(new TextDecoder().decode(stderr), /model file \/nonexistent\.onnx does not exist/);
});

Deno.test("the server prints one line, serves, and exits 0 on SIGTERM", async () => {
  const child = serve(["--host", "127.0.0.1", "--port", "0"]).spawn();
  const line = await firstLine(child.stdout);
  assert.match(
    line,
    /^\S+Z INFO mnist-server listening on 127\.0\.0\.1:\d+ http=127\.0\.0\.1:\d+ .*model=.*mnist\/1\/model\.onnx .*parameters=93322 .*engine="onnxruntime-web.* checksum=verified .*dashboard=http:\/\/127\.0\.0\.1:(\d+)\/$/,
  );
  const http = Number(line.match(/http=127\.0\.0\.1:(\d+)/)![1]);
  assert.notEqual(http, 8000, "--port 0 implies a free HTTP port");
  assert.ok(
    line.endsWith(` dashboard=http://127.0.0.1:${http}/`),
    "the dashboard's address ends the line",
  );
  const ready = await fetch(`http://127.0.0.1:${http}/v2/health/ready`);
  await ready.body?.cancel();
  assert.equal(ready.status, 200);
  const port = Number(line.match(/127\.0\.0\.1:(\d+)/)![1]);
  const client = await InferenceClient.connect({ hostname: "127.0.0.1", port });
  const reply = await client.infer({ digitU8: new Uint8Array(784) });
  assert.equal(reply.status, Status.OK);
  child.kill("SIGTERM");
  const status = await child.status;
  await client.closed;
  client.close();
  await child.stderr.cancel();
  assert.equal(status.code, 0);
});

Deno.test("--log-format json: the start line and the stop lines are JSON objects", async () => {
  const child = serve(["--host", "127.0.0.1", "--port", "0", "--no-http", "--log-format", "json"])
    .spawn();
  const start = JSON.parse(await firstLine(child.stdout));
  assert.equal(start.level, "info");
  assert.match(start.msg, /^mnist-server listening on 127\.0\.0\.1:\d+ model=/);
  assert.match(start.address, /^127\.0\.0\.1:\d+$/);
  assert.equal(start.http, undefined, "--no-http: no HTTP port");
  // Every fact of the plain line is a field of its own.
  assert.equal(start.parameters, 93322);
  assert.equal(start.instances, 2);
  assert.match(start.engine, /^onnxruntime-web /);
  assert.equal(start.checksum, "verified");
  assert.equal(start.tokens, "off");
  assert.equal(start.legacy, "allow");
  assert.equal(start.dashboard, undefined, "--no-http: no dashboard");
  assert.doesNotMatch(start.msg, /dashboard=/);
  assert.ok(!Number.isNaN(Date.parse(start.time)));
  child.kill("SIGTERM");
  assert.equal((await child.status).code, 0);
  const stderr = await new Response(child.stderr).text();
  const lines = stderr.trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(lines.map((l) => l.msg).slice(-2), ["draining", "stopped"]);
});

Deno.test("--log-format json: the start line's dashboard is where a browser on this host opens it", async () => {
  // Every address: a browser cannot open 0.0.0.0, so the line names localhost.
  const child = serve(["--host", "0.0.0.0", "--port", "0", "--log-format", "json"]).spawn();
  const start = JSON.parse(await firstLine(child.stdout));
  const http = Number(start.http.match(/^0\.0\.0\.0:(\d+)$/)[1]);
  assert.equal(start.dashboard, `http://localhost:${http}/`);
  assert.ok(start.msg.endsWith(` dashboard=http://localhost:${http}/`), start.msg);
  const page = await fetch(start.dashboard);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/i);
  child.kill("SIGTERM");
  assert.equal((await child.status).code, 0);
  await child.stderr.cancel();
});

Deno.test("a --firmware-dir that is not a folder: one sentence naming it, exit 2", async () => {
  for (const dir of ["/tmp/no-such-firmware-folder", "README.md"]) {
    const { code, stderr } = await serve(["--port", "0", "--firmware-dir", dir]).output();
    const text = new TextDecoder().decode(stderr).trim();
    assert.equal(code, 2, text);
    assert.equal(
      text.split("\n").at(-1),
      `serve: --firmware-dir ${dir} is not a folder: build a release into it first (deno task build --release DIR)`,
    );
  }
});

Deno.test("a taken HTTP port is named with its own flag, not the board port's", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = blocker.addr.port;
  try {
    const args = ["--host", "127.0.0.1", "--port", "0", "--http-port", String(taken)];
    const { code, stderr } = await serve(args).output();
    const text = new TextDecoder().decode(stderr).trim();
    assert.equal(code, 2);
    assert.doesNotMatch(text, /\n\s+at /);
    // The HTTP port opens after the model loads: its log lines come first, the error last.
    assert.equal(
      text.split("\n").at(-1),
      `serve: port ${taken} is already in use (127.0.0.1:${taken}); stop the other server or pass --http-port`,
    );
  } finally {
    blocker.close();
  }
});

/** The lines of a child's stream, read as they come. */
function lineReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  return {
    /** Reads until some line matches `pattern` (or the stream ends); returns every line so far. */
    async until(pattern: RegExp): Promise<string[]> {
      while (!text.split("\n").some((line) => pattern.test(line))) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      return text.trim().split("\n");
    },
  };
}

Deno.test("SIGINT stops without a drain, and its log line says so", async () => {
  const child = serve(["--host", "127.0.0.1", "--port", "0", "--drain-seconds", "30"]).spawn();
  const stdout = lineReader(child.stdout);
  await stdout.until(/mnist-server listening/);
  child.kill("SIGINT");
  const lines = await lineReader(child.stderr).until(/\bstopped\b/);
  await stdout.until(/$^/);
  assert.equal((await child.status).code, 0, "exits 0 at once, not after --drain-seconds 30");
  const stop = lines.find((line) => /signal=SIGINT/.test(line));
  assert.ok(stop, lines.join("\n"));
  assert.match(stop, /stopping without a drain/);
  assert.doesNotMatch(stop, /draining|seconds=/);
});

Deno.test("SIGTERM drains for --drain-seconds: not ready, still serving, then exit 0", async () => {
  const child = serve(["--host", "127.0.0.1", "--port", "0", "--drain-seconds", "3"]).spawn();
  const stdout = lineReader(child.stdout);
  const line = (await stdout.until(/mnist-server listening/)).at(-1)!;
  const http = Number(line.match(/http=127\.0\.0\.1:(\d+)/)![1]);
  const port = Number(line.match(/127\.0\.0\.1:(\d+)/)![1]);
  child.kill("SIGTERM");
  const stderr = lineReader(child.stderr);
  assert.match((await stderr.until(/draining/)).at(-1)!, /draining .*signal=SIGTERM seconds=3/);
  const ready = await fetch(`http://127.0.0.1:${http}/v2/health/ready`);
  await ready.body?.cancel();
  assert.equal(ready.status, 503, "readiness turns 503 at once");
  const client = await InferenceClient.connect({ hostname: "127.0.0.1", port });
  const reply = await client.infer({ digitU8: new Uint8Array(784) });
  assert.equal(reply.status, Status.OK, "still serving during the drain");
  await client.closed;
  client.close();
  await stderr.until(/\bstopped\b/);
  await stdout.until(/$^/);
  assert.equal((await child.status).code, 0);
});

Deno.test("MNIST_OPERATOR_TOKEN opens /dashboard.json, a device token from --tokens does not", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-main-operator-" });
  const device = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, tokenLine("kitchen", device) + "\n");
  const operator = "operator-token-0123456789";
  const short = await serve(["--port", "0"], { MNIST_OPERATOR_TOKEN: "short" }).output();
  assert.equal(short.code, 2);
  assert.match(new TextDecoder().decode(short.stderr), /--operator-token must be at least 16/);
  const child = serve(["--host", "127.0.0.1", "--port", "0", "--tokens", `${dir}/tokens`], {
    MNIST_OPERATOR_TOKEN: operator,
  }).spawn();
  try {
    const line = await firstLine(child.stdout);
    const http = Number(line.match(/http=127\.0\.0\.1:(\d+)/)![1]);
    const view = async (token: string) => {
      const response = await fetch(`http://127.0.0.1:${http}/dashboard.json`, {
        headers: { authorization: `Bearer ${token}` },
      });
      await response.body?.cancel();
      return response.status;
    };
    assert.equal(await view(device), 401);
    assert.equal(await view(operator), 200);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stderr.cancel();
    await Deno.remove(dir, { recursive: true });
  }
});
