// The HTTP port's Worker half (`http_front.ts`) against the real server: a
// request that is not an inference goes to the main thread's routes as it
// came, its body too, so the routes answer it as in process. Needs
// `deno test --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_workers.ts";
import { withServer } from "../testing/server.ts";

const ADMIN = "admin-token-0123456789abcdef";
/** Over `--max-http-body` (64 KiB here) and over what a Worker holds of a passed-on body. */
const BIG = new Uint8Array(4 * 1024 * 1024).fill(0x20);

/** `bytes` in 64 KiB chunks, without a declared length. */
function chunked(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at += 64 * 1024));
    },
  });
}

/** Requests with a body no route takes whole: each route's own answer decides. */
const BIG_BODIES: [string, string, () => RequestInit][] = [
  ["no route", "/nope", () => ({ method: "POST", body: BIG })],
  ["wrong method", "/v2/health/ready", () => ({ method: "POST", body: BIG })],
  ["no admin token", "/v2/repository/index", () => ({ method: "POST", body: BIG })],
  [
    "over the route's limit",
    "/v2/repository/index",
    () => ({ method: "POST", body: BIG, headers: { authorization: `Bearer ${ADMIN}` } }),
  ],
  [
    "over the route's limit, chunked",
    "/v2/repository/index",
    () => ({ method: "POST", body: chunked(BIG), headers: { authorization: `Bearer ${ADMIN}` } }),
  ],
];

async function bigBodyAnswers(listeners: number): Promise<string[]> {
  const seen: string[] = [];
  const options = {
    listeners,
    httpPort: 0,
    warmUpMs: 0,
    maxHttpBody: 64 * 1024,
    adminToken: ADMIN,
  };
  await withServer(options, async (server) => {
    const base = `http://127.0.0.1:${server.http!.addr.port}`;
    for (const [what, path, init] of BIG_BODIES) {
      const response = await fetch(base + path, init());
      seen.push(`${what}: ${response.status} ${await response.text()}`);
    }
  });
  return seen;
}

Deno.test("--listeners 2: a body too large for any route gets the route's answer, as in process", async () => {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const inProcess = await bigBodyAnswers(1);
  assert.deepEqual(inProcess.map((answer) => answer.split(" {")[0]), [
    "no route: 404",
    "wrong method: 405",
    "no admin token: 401",
    "over the route's limit: 413",
    "over the route's limit, chunked: 413",
  ]);
  assert.match(inProcess[4], /FRAME_TOO_LARGE: the body is over 65536 bytes; the limit is 65536/);
  assert.deepEqual(await bigBodyAnswers(2), inProcess);
});

/** The status line and body of one request written as `head` on its own connection. */
async function rawAnswer(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(head));
  const text = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
  const [status] = text.split("\r\n");
  return `${status} ${text.slice(text.indexOf("\r\n\r\n") + 4)}`;
}

/** Methods the Fetch API's Request would change (a lowercase `post`) or refuse (`TRACE`). */
const ODD_METHODS = [
  "TRACE /v2 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
  "post /v2/models/mnist/infer HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
  "get /v2/health/ready HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
];

async function oddMethodAnswers(listeners: number): Promise<string[]> {
  const seen: string[] = [];
  await withServer({ listeners, httpPort: 0, warmUpMs: 0 }, async (server) => {
    const port = server.http!.addr.port;
    for (const head of ODD_METHODS) seen.push(await rawAnswer(port, head));
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    seen.push(...metrics.split("\n").filter((line) => line.startsWith("mnist_requests_total")));
  });
  return seen;
}

Deno.test("--listeners 2: a method is passed on as the client wrote it, as in process", async () => {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const inProcess = await oddMethodAnswers(1);
  assert.deepEqual(inProcess, [
    'HTTP/1.1 405 Method Not Allowed {"error":"UNKNOWN_COMMAND: /v2 takes GET, not TRACE"}',
    'HTTP/1.1 405 Method Not Allowed {"error":"UNKNOWN_COMMAND: /v2/models/mnist/infer takes POST, not post"}',
    'HTTP/1.1 405 Method Not Allowed {"error":"UNKNOWN_COMMAND: /v2/health/ready takes GET, not get"}',
  ]);
  assert.deepEqual(await oddMethodAnswers(2), inProcess);
});
