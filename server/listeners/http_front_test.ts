// The HTTP port's Worker half (`http_front.ts`) against the real server, and
// a hostile client on the HTTP port in process and through the listener
// Workers (`--listeners 2`): raw sockets send exactly the bytes chosen (a body
// that stops mid-way, a declared length never sent), and each answer, the
// metrics and a well-behaved client's service are compared between the two
// modes. Needs `deno test --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { writeAll } from "../write_all.ts";
import { recordingLogger, withServer } from "../testing/server.ts";
import {
  gzip,
  httpCounts,
  inBothModes,
  serverWithListeners,
  stalledRequest,
} from "../testing/http_modes.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_options.ts";
import { HttpFront } from "./http_front.ts";
import { until } from "../testing/until.ts";

const encoder = new TextEncoder();
const digit = Array.from({ length: 784 }, (_, i) => (i * 7) % 251 > 120 ? 255 : 0);
const plain = JSON.stringify({
  id: "seven",
  inputs: [{ name: "input", datatype: "UINT8", shape: [1, 784], data: digit }],
});

Deno.test("a body that stops mid-way (an inference's, an admin route's) is refused at --http-body-timeout-ms, alike in both modes, and others are served meanwhile", async () => {
  const admin = "admin-token-0123456789abcdef";
  const options = { httpBodyTimeoutMs: 400, adminToken: admin };
  const [inProcess, workers] = await inBothModes(options, async (server) => {
    const port = server.http!.addr.port;
    const head = `POST /v2/models/mnist/infer HTTP/1.1\r\ncontent-length: ${plain.length}`;
    const bearer = `authorization: Bearer ${admin}\r\ncontent-length: 15`;
    const answers = [
      stalledRequest(port, head, plain.slice(0, 100)),
      stalledRequest(port, head, ""),
      stalledRequest(port, `POST /v2/repository/index HTTP/1.1\r\n${bearer}`, "{"),
      stalledRequest(port, `POST /v2/models/mnist/promote HTTP/1.1\r\n${bearer}`, "{}"),
    ];
    const good = await fetch(`http://127.0.0.1:${port}/v2/models/mnist/infer`, {
      method: "POST",
      body: plain,
    });
    const served = `${good.status} ${(await good.json()).id}`;
    return [served, ...await Promise.all(answers), ...await httpCounts(port)];
  });
  assert.deepEqual(inProcess, [
    "200 seven",
    'HTTP/1.1 400 Bad Request {"error":"MALFORMED_BUFFER: the body did not arrive within 400 ms (100 bytes came)"}',
    'HTTP/1.1 400 Bad Request {"error":"MALFORMED_BUFFER: the body did not arrive within 400 ms (0 bytes came)"}',
    'HTTP/1.1 400 Bad Request {"error":"MALFORMED_BUFFER: the body did not arrive within 400 ms (1 bytes came)"}',
    'HTTP/1.1 400 Bad Request {"error":"MALFORMED_BUFFER: the body did not arrive within 400 ms (2 bytes came)"}',
    'mnist_requests_total{protocol="http",status="MALFORMED_BUFFER"} 2',
    'mnist_requests_total{protocol="http",status="OK"} 1',
  ]);
  assert.deepEqual(workers, inProcess);
});

Deno.test("HTTP bodies are charged to --max-buffered-bytes while they arrive: past it 503, paid back once read, alike in both modes", async () => {
  // 40,000 bytes fit the 65,536 HTTP bodies may hold (half the budget) alone, not beside a
  // stalled body holding 50,000.
  const padded = plain.padEnd(40_000, " ");
  const infer = (length: number) =>
    `POST /v2/models/mnist/infer HTTP/1.1\r\ncontent-length: ${length}`;
  const options = { maxBufferedBytes: 131_072, httpBodyTimeoutMs: 1500 };
  const [inProcess, workers] = await inBothModes(options, async (server) => {
    const port = server.http!.addr.port;
    const holding = stalledRequest(port, infer(60_000), "x".repeat(50_000));
    // Until the stalled body is held (bounded: without a budget it never counts).
    for (let i = 0; i < 100 && server.limits.buffered < 50_000; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const refused = await stalledRequest(port, infer(padded.length), padded);
    const small = await fetch(`http://127.0.0.1:${port}/v2/models/mnist/infer`, {
      method: "POST",
      body: plain,
    });
    const served = `${small.status} ${(await small.json()).id}`;
    const held = await holding;
    const paidBack = server.limits.buffered;
    const again = await stalledRequest(port, infer(padded.length), padded);
    return [
      refused.replace(/holding \d+ bytes/, "holding N bytes"),
      served,
      held,
      `paid back: ${paidBack}`,
      again.split(" {")[0],
      ...await httpCounts(port),
    ];
  });
  assert.deepEqual(inProcess, [
    'HTTP/1.1 503 Service Unavailable {"error":"SERVER_BUSY: the server is holding N bytes of unfinished messages, the 65536 of its budget that HTTP bodies may take; try again shortly"}',
    "200 seven",
    'HTTP/1.1 400 Bad Request {"error":"MALFORMED_BUFFER: the body did not arrive within 1500 ms (50000 bytes came)"}',
    "paid back: 0",
    "HTTP/1.1 200 OK",
    'mnist_requests_total{protocol="http",status="MALFORMED_BUFFER"} 1',
    'mnist_requests_total{protocol="http",status="OK"} 2',
    'mnist_requests_total{protocol="http",status="SERVER_BUSY"} 1',
  ]);
  assert.deepEqual(workers, inProcess);
});

Deno.test("an inference's duration counts from its headers, so a slow upload is in it, alike in both modes", async () => {
  const [inProcess, workers] = await inBothModes({}, async (server) => {
    const port = server.http!.addr.port;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const head = `POST /v2/models/mnist/infer HTTP/1.1\r\nhost: x\r\nconnection: close\r\n` +
      `content-length: ${plain.length}\r\n\r\n`;
    await writeAll(conn, encoder.encode(head + plain.slice(0, 100)));
    await new Promise((r) => setTimeout(r, 400));
    await writeAll(conn, encoder.encode(plain.slice(100)));
    const answer = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const sum = /mnist_request_duration_seconds_sum\{protocol="http"\} ([\d.e-]+)/.exec(metrics);
    return [
      answer.split("\r\n")[0],
      // Half the pause: a timer may fire a little early on another clock, and a duration
      // that left the upload out would be a few milliseconds.
      Number(sum?.[1]) >= 0.2 ? "took the upload's pause" : sum?.[0],
    ];
  });
  assert.deepEqual(inProcess, ["HTTP/1.1 200 OK", "took the upload's pause"]);
  assert.deepEqual(workers, inProcess);
});

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

Deno.test("a shutdown ends once every request is answered, though clients keep connections with unread bodies", async () => {
  for (const listeners of [1, 2]) {
    const server = await serverWithListeners(listeners, { httpBodyTimeoutMs: 300 });
    const port = server.http!.addr.port;
    // Each answered while the rest of its body is still owed: past the deadline, and not read at all.
    const heads = [
      `POST /v2/models/mnist/infer HTTP/1.1\r\ncontent-length: 1000`,
      "POST /nope HTTP/1.1\r\ncontent-length: 1000",
    ];
    const clients = await Promise.all(heads.map(async (head) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await writeAll(conn, encoder.encode(`${head}\r\nhost: x\r\n\r\n{"id":`));
      const answer = new Uint8Array(1024);
      assert.ok(await conn.read(answer));
      return conn;
    }));
    try {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stopped = await Promise.race([
        server.shutdown().then(() => "stopped"),
        new Promise((resolve) =>
          timer = setTimeout(() => resolve("still stopping after 5 s"), 5000)
        ),
      ]);
      clearTimeout(timer);
      assert.equal(stopped, `stopped`, `listeners ${listeners}`);
    } finally {
      for (const conn of clients) conn.close();
      await server.shutdown();
    }
  }
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

/** The status line and body of one request written as `head` on its own connection. */
async function rawAnswer(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(head));
  const text = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
  const [status] = text.split("\r\n");
  return `${status} ${text.slice(text.indexOf("\r\n\r\n") + 4)}`;
}

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

/** Host headers that make no URL, on an inference, a health check and the metrics. */
const BAD_HOSTS = [
  "POST /v2/models/mnist/infer HTTP/1.1\r\nhost: x:99999\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
  "GET /v2/health/ready HTTP/1.1\r\nhost: a b\r\nconnection: close\r\n\r\n",
  "GET /metrics HTTP/1.1\r\nhost: [::1\r\nconnection: close\r\n\r\n",
];

/**
 * Each of `heads` written on a connection of its own to a server with
 * `listeners`: the answers, then `mnist_requests_total`'s lines, then how
 * many ERROR lines the server logged.
 */
async function rawAnswers(listeners: number, heads: string[]): Promise<string[]> {
  const { log, lines } = recordingLogger("error");
  const seen: string[] = [];
  await withServer({ listeners, httpPort: 0, warmUpMs: 0, log }, async (server) => {
    const port = server.http!.addr.port;
    for (const head of heads) seen.push(await rawAnswer(port, head));
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    seen.push(...metrics.split("\n").filter((line) => line.startsWith("mnist_requests_total")));
  });
  return [...seen, `error lines: ${lines.length}`];
}

const badHostAnswers = (listeners: number) => rawAnswers(listeners, BAD_HOSTS);

Deno.test("a Host header that makes no URL is refused as unreadable and counted, not a server error, as in process", async () => {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const inProcess = await badHostAnswers(1);
  for (const answer of inProcess.slice(0, 3)) {
    assert.match(answer, /^HTTP\/1.1 400 Bad Request \{"error":"MALFORMED_BUFFER: the Host header/);
  }
  assert.deepEqual(inProcess.slice(3), [
    // The inference only: a health check or a scrape is not one, as a wrong route's 404 is not.
    'mnist_requests_total{protocol="http",status="MALFORMED_BUFFER"} 1',
    "error lines: 0",
  ]);
  assert.deepEqual(await badHostAnswers(2), inProcess);
});

Deno.test("an unreadable infer counts against the model its path names, never the default in its place", async () => {
  const heads = ["zz", "mnist"].map((model) =>
    `POST /v2/models/${model}/infer HTTP/1.1\r\nhost: x:99999\r\ncontent-length: 2\r\n` +
    "connection: close\r\n\r\n{}"
  );
  await withServer({ httpPort: 0, warmUpMs: 0 }, async (server) => {
    const port = server.http!.addr.port;
    const failures = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return text.split("\n").filter((l) => l.startsWith("nv_inference_request_failure{"));
    };
    const before = await failures();
    assert.match(await rawAnswer(port, heads[0]), /^HTTP\/1.1 400 /);
    assert.deepEqual(await failures(), before, "zz is not served: nothing counted");
    assert.match(await rawAnswer(port, heads[1]), /^HTTP\/1.1 400 /);
    assert.ok(
      (await failures()).includes(
        'nv_inference_request_failure{model="mnist",version="1",reason="OTHER"} 1',
      ),
    );
  });
});

/** Methods the Fetch API's Request would change (a lowercase `post`) or refuse (`TRACE`). */
const ODD_METHODS = [
  "TRACE /v2 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
  "post /v2/models/mnist/infer HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
  "get /v2/health/ready HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
];

/** The odd methods' answers and counts (`rawAnswers` without its count of ERROR lines). */
async function oddMethodAnswers(listeners: number): Promise<string[]> {
  return (await rawAnswers(listeners, ODD_METHODS)).slice(0, -1);
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

Deno.test("a Worker's HTTP requests go to the main thread in batches while others wait, a lone one at once", async () => {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const batches: number[][] = [];
  const answered = new Set<number>();
  const settings = {
    hostname: "127.0.0.1",
    port: 0,
    tls: null,
    maxBodyBytes: 1 << 20,
    trustedProxies: null,
    tokensOn: false,
  };
  const front = HttpFront.start(settings, (message) => {
    if (message.type === "httpRequests") batches.push(message.requests.map((r) => r.seq));
  });
  const url = `http://127.0.0.1:${front.port}/v2/health/live`;
  const answer = (seqs: number[]) => {
    for (const seq of seqs) answered.add(seq);
    front.receive(seqs.map((seq) => ({ seq, status: 200, headers: {}, body: `${seq}` })));
  };
  const clients = Array.from({ length: 100 }, () => Deno.createHttpClient({}));
  try {
    // Alone: posted by itself, and answered.
    const lone = fetch(url);
    await until(() => batches.length === 1, "the lone request posted");
    assert.deepEqual(batches[0], [0]);
    answer(batches[0]);
    assert.equal(await (await lone).text(), "0");
    // 100 at once from their own connections, none answered until every one is posted.
    const many = clients.map((client) => fetch(url, { client }).then((r) => r.text()));
    const seqs = () => batches.slice(1).flat();
    await until(() => seqs().length === 100, "the 100 requests posted");
    answer(seqs());
    const bodies = await Promise.all(many);
    assert.deepEqual(bodies.map(Number).sort((a, b) => a - b), seqs().sort((a, b) => a - b));
    assert.deepEqual(seqs().sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1));
    assert.ok(batches.length - 1 < 100, `in fewer messages than requests: ${batches.length - 1}`);
  } finally {
    // Whatever is still owed is answered, posted or not (a request is pending before its note
    // is posted), so that the shutdown, which waits for it, ends and a failure is not a hang.
    answer(Array.from({ length: 101 }, (_, seq) => seq).filter((seq) => !answered.has(seq)));
    await front.shutdown();
    for (const client of clients) client.close();
  }
});
