// Bodies that arrive slowly or not at all on the HTTP port, in process and
// through the listener Workers (`--listeners 2`, whose Worker half is
// `http_front.ts`): raw sockets send exactly the bytes chosen (a body that
// stops mid-way, a declared length never sent), and each answer, the metrics
// and a well-behaved client's service are compared between the two modes: the
// body's deadline, its charge to the memory budget, an inference's duration
// with its upload, and a shutdown that leaves no body owed. Needs `deno test
// --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { writeAll } from "../write_all.ts";
import {
  httpCounts,
  inBothModes,
  serverWithListeners,
  stalledRequest,
} from "../testing/http_modes.ts";

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
