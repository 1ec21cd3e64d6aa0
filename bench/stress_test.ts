import assert from "node:assert/strict";
import { UsageError } from "../cli/args.ts";
import type { StressReport } from "./report.ts";
import { MAX_CLIENTS, noServerSentence, parseStressArgs } from "./stress.ts";

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

Deno.test("a list of protocols runs each in turn; http takes --http-port with --port", () => {
  const o = parseStressArgs([
    "--protocol",
    "framed,http",
    "--port",
    "32001",
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
    ["--host", "10.0.0.5"],
    ["--clients", String(MAX_CLIENTS + 1)],
    ["--sweep", "1,0"],
    ["--clients", "10000", "--requests", "1000"], // 10 million requests in one step
    ["--port", "32001", "--server-threads", "2"],
    ["--protocol", "smoke-signals"],
    ["--protocol", "framed,http", "--garbage"],
    ["--http-port", "8000"], // only with --port
    ["--port", "32001", "--server-instances", "2"],
    ["--port", "32001", "--server-engine", "native"],
    ["--server-engine", "gpu"],
    ["--server-instances", "0"],
    ["--frobnicate"],
    ["--duration", "0"],
  ];
  for (const args of bad) assert.throws(() => parseStressArgs(args), UsageError, args.join(" "));
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
    "no server answered on 127.0.0.1:1: all 500 requests were refused a connection " +
      "(CONNECTION_REFUSED)",
  );
  // Some answered, or failed otherwise: a server is there, and the step's errors say the rest.
  assert.equal(noServerSentence({ count: 500, errors: { CONNECTION_REFUSED: 499 } }, "h:1"), null);
  assert.equal(noServerSentence({ count: 5, errors: { TIMEOUT: 5 } }, "h:1"), null);
  assert.equal(noServerSentence({ count: 0, errors: {} }, "h:1"), null);
});

Deno.test("--port where no server listens: one sentence, exit 2, no results written", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const json = `${await Deno.makeTempDir({ dir: "/tmp" })}/stress.json`;
  try {
    for (const protocol of ["legacy", "framed"]) {
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["task", "-q", "bench:stress", "--port", String(port), "--duration", "1"]
          .concat(["--protocol", protocol, "--clients", "5", "--warmup", "0", "--json", json]),
        cwd: new URL("..", import.meta.url).pathname,
      }).output();
      const text = new TextDecoder().decode(stderr);
      assert.equal(code, 2, text);
      assert.equal(
        text.split("\n").filter((line) => !/^(warm-up|\w+, 5 clients):/.test(line)).join("\n"),
        `bench:stress: no server answered on 127.0.0.1:${port}: all 5 requests were refused a ` +
          "connection (CONNECTION_REFUSED)\n",
      );
      assert.doesNotMatch(new TextDecoder().decode(stdout), /req\/s|checks/);
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
    assert.doesNotMatch(page, /https?:/);
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
