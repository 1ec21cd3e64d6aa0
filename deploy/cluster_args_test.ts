// `deno task cluster`'s command line: --replicas is optional, a port in use
// and a server flag the server refuses are one sentence and exit 2, with
// nothing started (no HAProxy, no server left running).
import assert from "node:assert/strict";
import { UsageError } from "../cli/args.ts";
import { serverTimeouts } from "./cluster.ts";
import { checkPortsFree, DEFAULT_REPLICAS, parseClusterArgs, USAGE } from "./cluster_args.ts";
import { tableDefault } from "../server/config.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function cluster(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "cluster", ...args],
    cwd: ROOT,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("--replicas is optional: the usage line shows it so, and its default is taken", () => {
  assert.match(USAGE, /^Usage: deno task cluster \[--replicas N\] \[options\]/);
  assert.match(USAGE, new RegExp(`--replicas N +servers \\(default ${DEFAULT_REPLICAS}\\)`));
  assert.equal(parseClusterArgs([]).replicas, DEFAULT_REPLICAS);
  assert.deepEqual(parseClusterArgs(["--", "--threads", "2"]).serverArgs, ["--threads", "2"]);
});

Deno.test("a port in use, or the same port twice: one sentence naming the flag", () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = taken.addr.port;
    assert.throws(
      () => checkPortsFree({ host: "127.0.0.1", port, httpPort: 0 }),
      new UsageError(
        `--port ${port} is in use on 127.0.0.1: stop what listens there, or pick another port ` +
          "(0: a free one)",
      ),
    );
    assert.throws(
      () => checkPortsFree({ host: "127.0.0.1", port: 0, httpPort: port }),
      UsageError,
      `--http-port ${port} is in use`,
    );
    assert.throws(
      () => checkPortsFree({ host: "127.0.0.1", port: 43001, httpPort: 43001 }),
      new UsageError("--port and --http-port are both 43001: give them two ports"),
    );
    assert.throws(
      () => checkPortsFree({ host: "192.0.2.1", port: 43002, httpPort: 0 }),
      new UsageError("--host 192.0.2.1 is not an address of this machine"),
    );
    checkPortsFree({ host: "127.0.0.1", port: 0, httpPort: 0 });
  } finally {
    taken.close();
  }
});

Deno.test("deno task cluster --port P with P in use: one line, exit 2, nothing started", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = taken.addr.port;
    const { code, stdout, stderr } = await cluster(["--port", String(port), "--http-port", "0"]);
    assert.equal(code, 2, stderr);
    assert.equal(
      stderr,
      `cluster: --port ${port} is in use on 127.0.0.1: stop what listens there, or pick another ` +
        "port (0: a free one) (deno task cluster --help)\n",
    );
    assert.equal(stdout, "");
  } finally {
    taken.close();
  }
});

Deno.test("deno task cluster -- --bogus: the server's sentence, one line, exit 2", async () => {
  const { code, stdout, stderr } = await cluster(
    ["--replicas", "1", "--port", "0", "--http-port", "0", "--", "--bogus"],
  );
  assert.equal(code, 2, stderr);
  assert.equal(
    stderr,
    "cluster: the server did not start: unknown flag --bogus (deno task serve --help)\n",
  );
  assert.equal(stdout, "");
});

Deno.test("HAProxy's timeouts follow the servers' flags after --", () => {
  assert.deepEqual(
    serverTimeouts(["--idle-timeout-ms", "3600000", "--http-body-timeout-ms", "5000"]),
    {
      idleTimeoutMs: 3_600_000,
      bodyTimeoutMs: 5_000,
    },
  );
  assert.deepEqual(serverTimeouts([]), {
    idleTimeoutMs: tableDefault("idle-timeout-ms"),
    bodyTimeoutMs: tableDefault("http-body-timeout-ms"),
  });
});
