// Bodies each route of the HTTP port reads only if it wants them, with its own
// limit, in process and through the listener Workers (`--listeners 2`, whose
// Worker half, `http_front.ts`, leaves a body it does not read as an
// inference's until the main thread's route pulls it): a route that answers
// without the body waits for none of it, one over a route's limit gets that
// route's answer, a body no route reads keeps no connection open, and one
// streamed without a length over HTTP/2 arrives whole. Each answer is compared
// between the two modes. Needs `deno test --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { withServer } from "../testing/server.ts";
import { gzip, inBothModes, stalledRequest } from "../testing/http_modes.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_options.ts";

Deno.test("any other route reads its body only if it wants it, with its own limit, alike in both modes", async () => {
  const admin = "admin-token-0123456789abcdef";
  const bearer = `authorization: Bearer ${admin}`;
  const bomb = await gzip(new Uint8Array(8 * 1024 * 1024));
  const requests: [string, string | Uint8Array][] = [
    // Answered without the body, which never comes.
    ["POST /nope HTTP/1.1\r\ncontent-length: 10485760", ""],
    ["POST /nope HTTP/1.1\r\ncontent-length: 100", ""],
    ["POST /v2/health/live HTTP/1.1\r\ncontent-length: 10485760", ""],
    ["POST /v2/repository/index HTTP/1.1\r\ncontent-length: 100", ""],
    // Read, and limited by the route's own limit (64 KiB), not by --max-http-body.
    [`POST /v2/repository/index HTTP/1.1\r\n${bearer}\r\ncontent-length: 2097152`, ""],
    [`POST /v2/repository/index HTTP/1.1\r\n${bearer}\r\ncontent-length: 5`, "{bad}"],
    [
      `POST /v2/repository/index HTTP/1.1\r\n${bearer}\r\ncontent-encoding: gzip\r\n` +
      `content-length: ${bomb.length}`,
      bomb,
    ],
    [`POST /v2/repository/index HTTP/1.1\r\n${bearer}\r\ncontent-length: 15`, '{"ready":true} '],
  ];
  const [inProcess, workers] = await inBothModes(
    { adminToken: admin, maxHttpBody: 64 * 1024 },
    (server) =>
      Promise.all(
        requests.map(([head, body]) => stalledRequest(server.http!.addr.port, head, body)),
      ),
  );
  assert.deepEqual(inProcess, [
    'HTTP/1.1 404 Not Found {"error":"UNKNOWN_COMMAND: no route POST /nope"}',
    'HTTP/1.1 404 Not Found {"error":"UNKNOWN_COMMAND: no route POST /nope"}',
    'HTTP/1.1 405 Method Not Allowed {"error":"UNKNOWN_COMMAND: /v2/health/live takes GET, not POST"}',
    'HTTP/1.1 401 Unauthorized {"error":"UNAUTHORIZED: this needs the admin token as a bearer token"}',
    'HTTP/1.1 413 Payload Too Large {"error":"FRAME_TOO_LARGE: the body is 2097152 bytes; the limit is 65536"}',
    'HTTP/1.1 400 Bad Request {"error":"MALFORMED_BUFFER: the body must be a JSON object (or empty)"}',
    'HTTP/1.1 413 Payload Too Large {"error":"FRAME_TOO_LARGE: the body is over 65536 bytes; the limit is 65536"}',
    'HTTP/1.1 200 OK [{"name":"mnist","version":"1","state":"READY","reason":""}]',
  ]);
  assert.deepEqual(workers, inProcess);
});

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

/**
 * A request with a large body its route does not read, of which only the
 * first 4 KiB is sent: the answer's status and `connection` header.
 */
async function unreadBodyAnswer(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(head + "x".repeat(4096)));
    let text = "";
    const buffer = new Uint8Array(65536);
    while (!/\r\n\r\n[^]*\}$/.test(text)) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    const connection = /^connection: (.*)$/im.exec(text)?.[1] ?? "keep-alive";
    return `${text.split("\r\n")[0]}; connection ${connection}`;
  } finally {
    conn.close();
  }
}

Deno.test("a body no route reads is left untouched, and its connection is not kept for another request, as in process", async () => {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const heads = [
    "POST /nope HTTP/1.1\r\nhost: x\r\ncontent-length: 1048576\r\n\r\n",
    "PUT /v2/health/ready HTTP/1.1\r\nhost: x\r\ncontent-length: 1048576\r\n\r\n",
  ];
  const answers = async (listeners: number) => {
    const seen: string[] = [];
    await withServer({ listeners, httpPort: 0, warmUpMs: 0 }, async (server) => {
      for (const head of heads) seen.push(await unreadBodyAnswer(server.http!.addr.port, head));
    });
    return seen;
  };
  const inProcess = await answers(1);
  assert.deepEqual(inProcess, [
    "HTTP/1.1 404 Not Found; connection close",
    "HTTP/1.1 405 Method Not Allowed; connection close",
  ]);
  assert.deepEqual(await answers(2), inProcess);
});

Deno.test("an HTTP/2 body streamed without a length reaches its route through a listener Worker, as in process", async () => {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const admin = "adminadminadmin123";
  const answer = async (listeners: number) => {
    let seen = "";
    await withServer(
      { listeners, httpPort: 0, warmUpMs: 0, adminToken: admin },
      async (server) => {
        // HTTP/2 without TLS (prior knowledge), and a body with no content-length: a stream.
        const client = Deno.createHttpClient({ http1: false, http2: true });
        try {
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"reddy":true}'));
              controller.close();
            },
          });
          const response = await fetch(
            `http://127.0.0.1:${server.http!.addr.port}/v2/repository/index`,
            { method: "POST", body, headers: { authorization: `Bearer ${admin}` }, client },
          );
          seen = `${response.status} ${await response.text()}`;
        } finally {
          client.close();
        }
      },
    );
    return seen;
  };
  const inProcess = await answer(1);
  assert.match(inProcess, /^400 .*unknown field \\"reddy\\"/);
  assert.equal(await answer(2), inProcess);
});
