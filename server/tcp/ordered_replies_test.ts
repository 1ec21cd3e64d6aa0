// Replies reach the client whole, in order, even when the connection closes
// right after them: real server on loopback, real sockets.
import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { Status } from "../../shared/errors.ts";
import { runScenario } from "../testing/socket_scenarios.ts";
import { OrderedReplies } from "./ordered_replies.ts";
import { framedBatch, slowReader, splitFramed, withServer } from "../testing/server.ts";
import { readAll } from "../testing/conn.ts";
import { ignorableTests, requireTool } from "../testing/tools.ts";

/** Tests whose slow reader is a Python socket with a small receive buffer. */
const python = ignorableTests(requireTool("python3", "python3"));

python.test("60,000 pipelined replies to a slow reader all arrive whole before the server closes", async () => {
  await withServer({}, async (server) => {
    const count = 60_000;
    // The client sends everything and ends its side, then reads slowly: the
    // server sees the end of the stream while its replies are still queued.
    const bytes = await slowReader(server.addr.port, framedBatch(count, Command.GET_STATS));
    const { replies, rest } = splitFramed(bytes);
    assert.equal(rest, 0, "no cut-off reply");
    assert.equal(replies.length, count);
    assert.ok(replies.every((r, i) => r.requestId === i + 1 && r.status === Status.OK));
  });
});

Deno.test("1,000 half-sent messages that time out at once each get their MALFORMED_BUFFER reply", async () => {
  const result = await runScenario(8192, ["timeouts", 1000, "messageTimeoutMs=1500"]);
  assert.deepEqual(result, { total: 1000, replied: 1000 });
});

/** A connected pair of real loopback sockets: the server's end and the client's. */
async function socketPair(): Promise<{ server: Deno.TcpConn; client: Deno.TcpConn }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [server, client] = await Promise.all([
    listener.accept(),
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
  ]);
  listener.close();
  return { server, client };
}

Deno.test("replies filled out of order go out in reserved order, and end() closes after the last", async () => {
  const { server, client } = await socketPair();
  const replies = new OrderedReplies(server, { writeTimeoutMs: 5000 });
  const slots = [replies.reserve(), replies.reserve(), replies.reserve()];
  replies.fill(slots[2], Uint8Array.of(3, 3));
  replies.fill(slots[1], Uint8Array.of(2));
  assert.equal(replies.outstanding, 3, "nothing goes out before the first is ready");
  const ending = replies.end();
  replies.fill(slots[0], Uint8Array.of(1));
  await ending;
  assert.ok(replies.closed);
  assert.deepEqual(await readAll(client), Uint8Array.of(1, 2, 3, 3));
  client.close();
});

Deno.test("a write that makes no progress past the deadline aborts the connection", async () => {
  const { server, client } = await socketPair();
  let timedOut = 0;
  const replies = new OrderedReplies(server, {
    writeTimeoutMs: 300,
    onWriteTimeout: () => timedOut++,
  });
  // 32 MB to a client that never reads cannot all be written.
  replies.fill(replies.reserve(), new Uint8Array(32 << 20));
  await replies.idle();
  assert.ok(replies.closed);
  assert.equal(timedOut, 1);
  client.close();
});

Deno.test("a reply larger than the socket buffers goes out whole over partial writes, then the next in order", async () => {
  const { server, client } = await socketPair();
  const replies = new OrderedReplies(server, { writeTimeoutMs: 5000 });
  const big = new Uint8Array(8 << 20).map((_, i) => i % 251);
  const first = replies.reserve();
  const second = replies.reserve();
  replies.fill(first, big);
  replies.fill(second, Uint8Array.of(7, 7, 7));
  const ending = replies.end();
  const received = await readAll(client);
  await ending;
  assert.equal(received.length, big.length + 3);
  assert.deepEqual(received.subarray(0, big.length), big);
  assert.deepEqual(received.subarray(big.length), Uint8Array.of(7, 7, 7));
  client.close();
});

Deno.test("a reply that waits behind a write keeps bytes of its own, not the shared buffer it is a view of", async () => {
  const { server, client } = await socketPair();
  const replies = new OrderedReplies(server, { writeTimeoutMs: 5000 });
  const big = new Uint8Array(8 << 20).fill(1); // more than the socket buffers take at once
  const shared = new Uint8Array(4096).fill(9); // a slab: the reply is a view of its first bytes
  const [first, second, third] = [replies.reserve(), replies.reserve(), replies.reserve()];
  replies.fill(first, big);
  replies.fill(second, shared.subarray(0, 3));
  assert.equal(
    second.bytes!.buffer.byteLength,
    3,
    "a waiting reply holds 3 bytes, not the 4 KB under them",
  );
  const own = Uint8Array.of(5);
  replies.fill(third, own);
  assert.equal(third.bytes, own, "a reply with a buffer of its own is kept as it is");
  shared.fill(0); // the slab is reused meanwhile: the reply still sends what it was
  const ending = replies.end();
  const received = await readAll(client);
  await ending;
  assert.deepEqual(received.subarray(big.length), Uint8Array.of(9, 9, 9, 5));
  client.close();
});
