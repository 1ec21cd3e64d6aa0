import assert from "node:assert/strict";
import { UsageError } from "../cli/args.ts";
import type { StressReport } from "./report.ts";
import { MAX_CLIENTS, parseStressArgs } from "./stress_args.ts";
import { noServerSentence } from "./stress_run.ts";
import { startSentence } from "./stress.ts";
import { ServerStartError } from "../server/testing/server_process.ts";

Deno.test("defaults are the old tool's run: 500 legacy clients, one float digit each", () => {
  const o = parseStressArgs([]);
  assert.equal(o.clients, 500);
  assert.equal(o.requests, 1);
  assert.equal(o.protocol, "legacy");
  assert.equal(o.digits, "float");
  assert.equal(o.port, null);
  assert.equal(o.host, "127.0.0.1");
  assert.equal(o.workers, 1);
  assert.equal(o.sweep, null);
});

Deno.test("framed defaults to byte digits; flags are read", () => {
  const o = parseStressArgs([
    "--protocol=framed",
    "--keep-alive",
    "--clients",
    "20",
    "--requests",
    "50",
    "--sweep",
    "1,10,100",
    "--duration",
    "2.5",
    "--workers",
    "2",
    "--report",
    "/tmp/r.html",
  ]);
  assert.equal(o.digits, "u8");
  assert.equal(o.keepAlive, true);
  assert.deepEqual(o.sweep, [1, 10, 100]);
  assert.equal(o.duration, 2.5);
  assert.equal(o.workers, 2);
  assert.equal(o.report, "/tmp/r.html");
});

Deno.test("a list of protocols runs each in turn; http takes --http-port with --server", () => {
  const o = parseStressArgs([
    "--protocol",
    "framed,http",
    "--server",
    "127.0.0.1:32001",
    "--http-port",
    "8001",
  ]);
  assert.deepEqual(o.protocols, ["framed", "http"]);
  assert.equal(o.protocol, "framed");
  assert.equal(o.digits, "u8");
  assert.equal(o.httpPort, 8001);
});

Deno.test("--server-instances and --server-engine are read for the started server", () => {
  const o = parseStressArgs(["--server-instances", "3", "--server-engine", "native"]);
  assert.equal(o.serverInstances, 3);
  assert.equal(o.serverEngine, "native");
  const d = parseStressArgs([]);
  assert.equal(d.serverInstances, null);
  assert.equal(d.serverEngine, null);
});

Deno.test("contradictions, unbounded loads and non-loopback hosts are refused", () => {
  const bad = [
    ["--keep-alive"], // legacy is a connection per request
    ["--garbage", "--digits", "u8"],
    ["--server", "10.0.0.5:32001"],
    ["--host", "127.0.0.1"], // now part of --server
    ["--port", "32001"],
    ["--server", "127.0.0.1:70000"],
    ["--clients", String(MAX_CLIENTS + 1)],
    ["--sweep", "1,0"],
    ["--clients", "10000", "--requests", "1000"], // 10 million requests in one step
    ["--server", "127.0.0.1:32001", "--server-threads", "2"],
    ["--protocol", "smoke-signals"],
    ["--protocol", "framed,http", "--garbage"],
    ["--http-port", "8000"], // only with --server
    ["--server", "127.0.0.1:32001", "--server-instances", "2"],
    ["--server", "127.0.0.1", "--server-engine", "native"],
    ["--server-engine", "gpu"],
    ["--server-instances", "0"],
    ["--frobnicate"],
    ["--duration", "0"],
  ];
  for (const args of bad) assert.throws(() => parseStressArgs(args), UsageError, args.join(" "));
});

Deno.test("--json or --report it could not write: one sentence naming it, before the bench runs", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-stress-args-" });
  try {
    await Deno.writeTextFile(`${dir}/afile`, "x");
    const refused: [string[], string][] = [
      [
        ["--report", `${dir}/no/such/x.html`],
        `--report ${dir}/no/such/x.html: there is no folder ${dir}/no/such`,
      ],
      [["--report", dir], `--report ${dir} is a folder: give the path of a file`],
      [
        ["--json", `${dir}/afile/x.json`],
        `--json ${dir}/afile/x.json: ${dir}/afile is a file, not a folder`,
      ],
      [["--json", ""], "--json needs a path"],
    ];
    for (const [args, sentence] of refused) {
      assert.throws(() => parseStressArgs(args), new UsageError(sentence));
    }
    // As the task answers, before any server or load: one line, exit 2, nothing written.
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "bench:stress", "--report", `${dir}/no/x.html`, "--clients", "1"],
      cwd: new URL("..", import.meta.url).pathname,
    }).output();
    assert.equal(code, 2);
    assert.equal(
      new TextDecoder().decode(stderr),
      `bench:stress: --report ${dir}/no/x.html: there is no folder ${dir}/no ` +
        "(deno task bench:stress --help)\n",
    );
    assert.equal(new TextDecoder().decode(stdout), "");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["afile"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a started server that refuses its set-up: its own sentence, one line, exit 2", () => {
  const e = new ServerStartError(
    "2026-01-01T00:00:00Z WARN model version refused model=mnist\n" +
      "serve: model mnist has no version that can serve (version 1: the native engine needs " +
      "onnxruntime-node, which is not installed: run 'deno task install:native')",
    2,
  );
  assert.equal(
    startSentence(e),
    "the server did not start: model mnist has no version that can serve (version 1: the " +
      "native engine needs onnxruntime-node, which is not installed: run 'deno task install:native')",
  );
  assert.equal(
    startSentence(new ServerStartError("error: Uncaught Boom\n    at x", 1)),
    "the server did not start: error: Uncaught Boom",
  );
});

Deno.test({
  name:
    "--server-engine native without deno task install:native: one line saying to run it, exit 2",
  ignore: (() => {
    try {
      Deno.statSync(new URL("../server/engine/native/node_modules", import.meta.url));
      return true;
    } catch {
      return false;
    }
  })(),
  fn: async () => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "bench:stress", "--server-engine", "native", "--clients", "1", "-q"],
      cwd: new URL("..", import.meta.url).pathname,
    }).output();
    const text = new TextDecoder().decode(stderr);
    assert.equal(code, 2, text);
    assert.match(text, /^bench:stress: the server did not start: .*deno task install:native.*\n$/);
    assert.equal(new TextDecoder().decode(stdout), "");
  },
});

Deno.test("--help exits 0 and lists the flags", async () => {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", new URL("./stress.ts", import.meta.url).pathname, "--help"],
  }).output();
  assert.equal(code, 0);
  const text = new TextDecoder().decode(stdout);
  for (const flag of ["--clients", "--sweep", "--keep-alive", "--workers", "--report", "--json"]) {
    assert.ok(text.includes(flag), flag);
  }
});

Deno.test("a step whose every request was refused a connection: no server there", () => {
  assert.equal(
    noServerSentence({ count: 500, errors: { CONNECTION_REFUSED: 500 } }, "127.0.0.1:1"),
    "no server answered on 127.0.0.1:1: every connection was refused (CONNECTION_REFUSED)",
  );
  // Some answered, or failed otherwise: a server is there, and the step's errors say the rest.
  assert.equal(noServerSentence({ count: 500, errors: { CONNECTION_REFUSED: 499 } }, "h:1"), null);
  assert.equal(noServerSentence({ count: 5, errors: { TIMEOUT: 5 } }, "h:1"), null);
  assert.equal(noServerSentence({ count: 0, errors: {} }, "h:1"), null);
});

Deno.test("--server where no server listens: one sentence, exit 2, no results written", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const json = `${await Deno.makeTempDir({ dir: "/tmp" })}/stress.json`;
  try {
    for (const protocol of ["legacy", "framed"]) {
      // With the default warm-up too: its 501 requests are no count the command line gave.
      for (const warmup of [["--warmup", "0"], []]) {
        const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
          args: ["task", "-q", "bench:stress", "--server", `127.0.0.1:${port}`, "--duration", "1"]
            .concat(["--protocol", protocol, "--clients", "3", "--requests", "2", ...warmup])
            .concat(["--json", json]),
          cwd: new URL("..", import.meta.url).pathname,
        }).output();
        const text = new TextDecoder().decode(stderr);
        assert.equal(code, 2, text);
        assert.equal(
          text.split("\n").filter((line) => !/^(warm-up|\w+, 3 clients):/.test(line)).join("\n"),
          `bench:stress: no server answered on 127.0.0.1:${port}: every connection was refused ` +
            "(CONNECTION_REFUSED)\n",
        );
        assert.doesNotMatch(new TextDecoder().decode(stdout), /req\/s|checks/);
      }
      await assert.rejects(Deno.stat(json), Deno.errors.NotFound);
    }
  } finally {
    await Deno.remove(json.slice(0, json.lastIndexOf("/")), { recursive: true });
  }
});

Deno.test("end to end: 1 and 5 framed clients against a server the bench starts, no errors; 1 client against an echo server too", async () => {
  const json = await Deno.makeTempFile({ dir: "/tmp", suffix: ".json" });
  const html = await Deno.makeTempFile({ dir: "/tmp", suffix: ".html" });
  try {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./stress.ts", import.meta.url).pathname,
        "--protocol",
        "framed",
        "--keep-alive",
        "--sweep",
        "1,5",
        "--requests",
        "4",
        "--warmup",
        "5",
        "--quiet",
        "--json",
        json,
        "--report",
        html,
      ],
    }).output();
    const out = new TextDecoder().decode(stdout);
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.match(out, /Total elapsed time: \d+ ms/);
    assert.match(out, /Average server inference time: [\d.]+ ms/);
    const report: StressReport = JSON.parse(await Deno.readTextFile(json));
    assert.deepEqual(report.steps.map((s) => [s.clients, s.ok, s.failed]), [[1, 4, 0], [5, 20, 0]]);
    assert.ok(report.server.spawned);
    assert.ok(report.steps.every((s) => s.batchSize && s.batchSize.max >= 1));
    // The one-client step is measured against an echo server too: the loopback's floor.
    const floor = report.steps[0].echoRoundTripMs!;
    assert.ok(floor.p50 > 0 && floor.p99 >= floor.p50, JSON.stringify(floor));
    assert.equal(report.steps[1].echoRoundTripMs, undefined);
    assert.match(
      out,
      /an echo server \(no handler, no engine\), the same client: round trip p50 [\d.]+ ms {2}p99 [\d.]+ ms/,
    );
    const page = await Deno.readTextFile(html);
    assert.match(page, /<svg /);
    // Self-contained: no URL but the dashboard's in the server's start line, which it quotes.
    assert.doesNotMatch(page.replace(/ dashboard=http:\/\/127\.0\.0\.1:\d+\//, ""), /https?:/);
  } finally {
    await Deno.remove(json);
    await Deno.remove(html);
  }
});

Deno.test("end to end: 5 legacy clients with garbage floats all get answers", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./stress.ts", import.meta.url).pathname,
      "--clients",
      "5",
      "--garbage",
      "--workers",
      "0",
      "--warmup",
      "0",
      "--quiet",
    ],
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.match(out, /5 ok, 0 failed/);
  assert.match(out, /errors: none/);
});
