// The board port served by listener Workers (`--listeners 2`) against the
// real server and real sockets: the same answers, limits, tokens, errors and
// metrics as the in-process listener, and a drain that loses no reply.
// Needs `deno test --unstable-net` (reusePort); without it the tests fail
// with the sentence that says so.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { Command } from "../../shared/codec.ts";
import { type DecodedReply } from "../../shared/reply_codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { Status, statusName } from "../../shared/errors.ts";
import { loadHeldOut } from "../../models/mnist_data.ts";
import { createAuthorizer } from "../auth/config.ts";
import { newToken, tokenLine } from "../auth/tokens.ts";
import type { ServerOptions } from "../options.ts";
import { address, splitFramed, withServer } from "../testing/server.ts";
import { readAll } from "../testing/conn.ts";
import { writeAll } from "../write_all.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_options.ts";
import { selfSignedCertificate } from "../testing/tls_cert.ts";
import { ignorableTests, requireTool } from "../testing/tools.ts";

/** Tests with a certificate made by openssl at test time. */
const openssl = ignorableTests(requireTool("openssl", "openssl"));

function needUnstableNet(): void {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
}

const digits = loadHeldOut().slice(0, 20).map((d) => d.pixels.map((v) => Math.round(v * 255)));

const code = (reply: DecodedReply) => statusName(reply.status);

/** `mnist_requests_total` for framed requests of `status`, from /metrics. */
async function framedCount(httpPort: number, status: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const line = text.split("\n").find((l) =>
    l.startsWith(`mnist_requests_total{protocol="framed",status="${status}"}`)
  );
  return line ? Number(line.split(" ").at(-1)) : 0;
}

Deno.test("--listeners 2: many connections get the right answers from both listeners, counted once", async () => {
  needUnstableNet();
  await withServer({ listeners: 2 }, async (server, where) => {
    // The answers one connection gets: what every connection must get for the same digit.
    const one = await InferenceClient.connect(where);
    const expected = await Promise.all(digits.map((digitU8) => one.infer({ digitU8 })));
    one.close();
    const clients = await Promise.all(
      Array.from({ length: 60 }, () => InferenceClient.connect(where)),
    );
    const replies = await Promise.all(clients.map((client, c) =>
      Promise.all(
        Array.from({ length: 5 }, (_, k) => client.infer({ digitU8: digits[(c + k) % 20] })),
      )
    ));
    for (const client of clients) client.close();
    replies.forEach((mine, c) =>
      mine.forEach((reply, k) => {
        const want = expected[(c + k) % 20];
        assert.equal(reply.status, Status.OK);
        assert.equal(reply.predicted, want.predicted, `client ${c} request ${k}`);
        assert.deepEqual(reply.scores, want.scores);
      })
    );
    const perListener = server.connectionsPerListener;
    assert.equal(perListener.length, 2);
    assert.equal(perListener[0] + perListener[1], 61);
    assert.ok(perListener.every((n) => n > 0), `connections per listener: ${perListener}`);
    assert.equal(await framedCount(server.http!.addr.port, "OK"), 20 + 60 * 5);
  });
});

/** What `options` makes of a token rule and a connection cap: the outcomes, in order. */
async function limitsAndTokens(options: ServerOptions): Promise<string[]> {
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, tokenLine("kitchen", token) + "\n");
  const auth = await createAuthorizer({ tokens: `${dir}/tokens` });
  const seen: string[] = [];
  try {
    await withServer({ maxConnections: 4, ...options, auth }, async (_server, where) => {
      const stranger = await InferenceClient.connect(where);
      seen.push(`no token: ${code(await stranger.infer({ digitU8: digits[0] }))}`);
      const wrong = await InferenceClient.connect(where, { token: newToken() });
      seen.push(`wrong token: ${code(await wrong.infer({ digitU8: digits[0] }))}`);
      const right = await InferenceClient.connect(where, { token });
      seen.push(`token: ${code(await right.infer({ digitU8: digits[0] }))}`);
      // Proved once, then checked against what the connection proved (its one identity).
      seen.push(`the token again: ${code(await right.infer({ digitU8: digits[1] }))}`);
      const fourth = await InferenceClient.connect(where, { token });
      seen.push(`fourth connection: ${code(await fourth.stats())}`);
      // Over the cap of 4, whichever listener accepts it.
      const fifth = await Deno.connect(where);
      await writeAll(fifth, encodeRequest({ command: Command.GET_STATS, requestId: 5 }, true));
      const { replies } = splitFramed(await readAll(fifth));
      seen.push(
        `fifth connection: ${
          replies.map((r: DecodedReply) => `${code(r)} ${r.requestId}: ${r.error}`)
        }`,
      );
      fifth.close();
      for (const client of [stranger, wrong, right, fourth]) client.close();
    });
  } finally {
    await auth.close();
    await Deno.remove(dir, { recursive: true });
  }
  return seen;
}

Deno.test("--listeners 2: a token rule and the connection caps hold as with 1 listener", async () => {
  needUnstableNet();
  const inProcess = await limitsAndTokens({ listeners: 1 });
  assert.deepEqual(inProcess, [
    "no token: UNAUTHORIZED",
    "wrong token: UNAUTHORIZED",
    "token: OK",
    "the token again: OK",
    "fourth connection: OK",
    "fifth connection: SERVER_BUSY 5: the server has 4 connections open, its most",
  ]);
  assert.deepEqual(await limitsAndTokens({ listeners: 2 }), inProcess);
  // The cap per address (every test client is 127.0.0.1), across both listeners.
  const perAddress = { maxConnections: 100, maxConnectionsPerAddress: 4 };
  const oneAddress = await limitsAndTokens({ ...perAddress, listeners: 1 });
  assert.match(oneAddress.at(-1)!, /^fifth connection: SERVER_BUSY 5: .*127\.0\.0\.1/);
  assert.deepEqual(await limitsAndTokens({ ...perAddress, listeners: 2 }), oneAddress);
});

/** The bytes a server sends back to each bad stream, one connection each. */
async function badStreams(listeners: number): Promise<string[]> {
  const streams = [
    // A frame larger than --max-frame.
    Uint8Array.of(0xff, 0xff, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8),
    // A whole frame that is no FlatBuffer.
    Uint8Array.of(12, 0, 0, 0, ...new Uint8Array(12).fill(0xee)),
    // A request with a digit of the wrong length.
    encodeRequest(
      { command: Command.INFERENCE_INPUT, requestId: 4, digitU8: new Uint8Array(10) },
      true,
    ),
  ];
  const seen: string[] = [];
  await withServer({ listeners }, async (server) => {
    for (const stream of streams) {
      const conn = await Deno.connect(address(server));
      await writeAll(conn, stream);
      await conn.closeWrite().catch(() => {}); // the server may have closed already
      seen.push([...await readAll(conn)].join(","));
      conn.close();
    }
  });
  return seen;
}

Deno.test("--listeners 2: bad frames get the same bytes back as in process", async () => {
  needUnstableNet();
  const inProcess = await badStreams(1);
  assert.ok(inProcess.every((bytes) => bytes.length > 0));
  assert.deepEqual(await badStreams(2), inProcess);
});

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** The requests a framed connection got answered before the server closed it: OK, in order, none skipped. */
function answeredInOrder(bytes: Uint8Array): number {
  const { replies, rest } = splitFramed(bytes);
  assert.equal(rest, 0, "the stream ends on a whole reply");
  replies.forEach((reply, i) => {
    assert.equal(reply.status, Status.OK);
    assert.equal(reply.requestId, 1 + i, "in request order, none skipped");
  });
  return replies.length;
}

Deno.test("--listeners 2: SIGTERM drains every listener, every request read is answered", async () => {
  needUnstableNet();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-net", "--allow-net", "--allow-read", "--allow-env", MAIN]
      .concat(["--host", "127.0.0.1", "--port", "0", "--no-http", "--listeners", "2"])
      .concat(["--drain-seconds", "0", "--log-format", "json"]),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const start = await new Response(child.stdout).body!.pipeThrough(new TextDecoderStream())
    .getReader().read();
  const port = Number(JSON.parse(start.value!.split("\n")[0]).address.split(":")[1]);
  // Many connections, each with a pipeline of digits in flight when the signal comes.
  const conns = await Promise.all(
    Array.from({ length: 24 }, () => Deno.connect({ hostname: "127.0.0.1", port })),
  );
  const pipeline = 40;
  const batch = (c: number) =>
    Uint8Array.from(
      Array.from({ length: pipeline }, (_, k) => [...encodeRequest({
        command: Command.INFERENCE_INPUT,
        requestId: 1 + k,
        digitU8: digits[(c + k) % 20],
      }, true)]).flat(),
    );
  await Promise.all(conns.map((conn, c) => writeAll(conn, batch(c))));
  // Each connection's first bytes back: it is being served when the signal comes.
  const firsts = await Promise.all(conns.map(async (conn) => {
    const buf = new Uint8Array(64 * 1024);
    return buf.subarray(0, (await conn.read(buf)) ?? 0);
  }));
  child.kill("SIGTERM");
  const counts = await Promise.all(conns.map(async (conn, c) => {
    const rest = await readAll(conn);
    conn.close();
    return answeredInOrder(Uint8Array.from([...firsts[c], ...rest]));
  }));
  assert.equal((await child.status).code, 0);
  const lines = (await new Response(child.stderr).text()).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  const stopped = lines.find((l) => l.msg === "stopped");
  const answered = counts.reduce((a, b) => a + b, 0);
  assert.ok(counts.every((n) => n >= 1));
  assert.equal(
    answered,
    stopped.served,
    `replies received ${counts}; digits the server served ${stopped.served}`,
  );
});

Deno.test("--listeners 2 without --unstable-net: one sentence and exit 2", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      MAIN,
      "--port",
      "0",
      "--listeners",
      "2",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 2);
  const lines = new TextDecoder().decode(stderr).trim().split("\n");
  assert.equal(lines.length, 1);
  assert.ok(lines[0].includes(NEEDS_UNSTABLE_NET), lines[0]);
});

openssl.test("--listeners 2: the TLS board port is served by the Workers, with the same answers", async () => {
  needUnstableNet();
  const certificate = await selfSignedCertificate();
  try {
    const tls = { port: 0, cert: certificate.cert, key: certificate.key };
    await withServer({ listeners: 2, tls }, async (server, where) => {
      assert.ok(server.tlsAddr && server.tlsAddr.port !== server.addr.port);
      const plain = await InferenceClient.connect(where);
      const clients = await Promise.all(Array.from({ length: 8 }, () =>
        InferenceClient.connect(
          { hostname: "127.0.0.1", port: server.tlsAddr!.port },
          { tls: { caCerts: [certificate.cert] } },
        )));
      const want = await plain.infer({ digitU8: digits[3] });
      for (const reply of await Promise.all(clients.map((c) => c.infer({ digitU8: digits[3] })))) {
        assert.equal(reply.status, Status.OK);
        assert.deepEqual(reply.scores, want.scores);
      }
      for (const client of [plain, ...clients]) client.close();
      assert.equal(server.connectionsPerListener.reduce((a, b) => a + b, 0), 9);
    });
  } finally {
    await Deno.remove(certificate.dir, { recursive: true });
  }
});
