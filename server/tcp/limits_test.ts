// The board port's limits against real clients on loopback: no client can
// exhaust or starve the others.
import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { type DecodedReply, decodeReply } from "../../shared/reply_codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { oldClientRequest } from "../../shared/testing.ts";
import { InferenceClient } from "../../client/client.ts";
import { runScenario } from "../testing/socket_scenarios.ts";
import { AddressRanges } from "../auth/cidr.ts";
import type { ConnectionEvent } from "./limits.ts";
import type { RequestEvent } from "../core/request.ts";
import {
  address,
  framedBatch,
  pipelinedReplies,
  proxyHeader,
  splitFramed,
  withServer,
} from "../testing/server.ts";
import { readAll } from "../testing/conn.ts";
import { until } from "../testing/until.ts";
import { writeAll } from "../write_all.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const statsFrame = (id: number) =>
  encodeRequest({ command: Command.GET_STATS, requestId: id }, true);

/** A whole legacy reply, decoded. */
function legacyReply(bytes: Uint8Array): DecodedReply {
  const reply = decodeReply(bytes);
  assert.ok(!(reply instanceof WireError), `${bytes.length} bytes: ${reply}`);
  return reply;
}

/** Sends one framed request on a new connection and reads its reply, keeping the connection open. */
async function openWithRequest(port: number, prefix: Uint8Array = new Uint8Array(0)) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, Uint8Array.of(...prefix, ...statsFrame(1)));
  const buf = new Uint8Array(4096);
  const n = await conn.read(buf);
  const { replies } = splitFramed(buf.subarray(0, n ?? 0));
  return { conn, reply: replies[0] };
}

Deno.test("a good client beside 20 pipelining flooders gets its replies, not SERVER_BUSY", async () => {
  await withServer({}, async (server) => {
    const flood = framedBatch(2000);
    const flooders = await Promise.all(
      Array.from({ length: 20 }, () => Deno.connect(address(server))),
    );
    const flooding = flooders.map(async (conn) => {
      const [bytes] = await Promise.all([
        readAll(conn),
        writeAll(conn, flood).then(() => conn.closeWrite()),
      ]);
      return splitFramed(bytes).replies;
    });
    // Let the flood fill the queue before the good client asks.
    await sleep(300);
    const good = await InferenceClient.connect(address(server));
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      statuses.push((await good.infer({ digitU8: new Uint8Array(784) })).status);
    }
    good.close();
    const floods = await Promise.all(flooding);
    for (const c of flooders) c.close();
    assert.deepEqual(statuses.filter((s) => s !== Status.OK), []);
    // The flooders were answered (some refused for their own excess), in order.
    for (const replies of floods) {
      assert.equal(replies.length, 2000);
      assert.ok(replies.some((r) => r.status === Status.OK));
    }
  });
});

Deno.test("a connection with its share queued is not read until under it: few refusals, no churn", async () => {
  await withServer({ maxQueued: 64, minQueueShare: 16 }, async (server) => {
    const replies = await pipelinedReplies(server, 2000);
    assert.equal(replies.length, 2000);
    const busy = replies.filter((r) => r.status === Status.SERVER_BUSY).length;
    assert.equal(replies.filter((r) => r.status === Status.OK).length, 2000 - busy);
    // Read as fast as it arrives, long runs of frames would find the 64
    // places taken; paused at its share, a run of refusals is at most what
    // one read holds (16 KB, and the decoder's spare room: under 2 × 16 KB).
    let run = 0;
    let longest = 0;
    for (const r of replies) {
      run = r.status === Status.SERVER_BUSY ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    const perRead = Math.ceil((2 * 16 * 1024) / (framedBatch(1).length));
    assert.ok(longest <= perRead, `${longest} refusals in a row, more than ${perRead}`);
  });
});

Deno.test("connections over the per-address cap get SERVER_BUSY in their protocol, then a close", async () => {
  const events: ConnectionEvent[] = [];
  await withServer(
    { maxConnectionsPerAddress: 3, onConnection: (e) => events.push(e) },
    async (server) => {
      const port = server.addr.port;
      const open = await Promise.all([1, 2, 3].map(() => openWithRequest(port)));
      for (const { reply } of open) assert.equal(reply.status, Status.OK);
      // Framed: the refusal is a framed error reply.
      const refused = await Deno.connect(address(server));
      await writeAll(refused, statsFrame(9));
      const { replies } = splitFramed(await readAll(refused));
      refused.close();
      assert.equal(replies.length, 1);
      assert.equal(replies[0].status, Status.SERVER_BUSY);
      assert.equal(replies[0].requestId, 9, "the refusal names the request");
      assert.match(replies[0].error, /127\.0\.0\.1 already has 3 connections/);
      // Legacy: a bare error buffer.
      const legacy = await Deno.connect(address(server));
      await writeAll(legacy, oldClientRequest(new Float32Array(784)));
      const bytes = await readAll(legacy);
      legacy.close();
      assert.equal(legacyReply(bytes).status, Status.SERVER_BUSY);
      // A place freed is a place taken.
      open[0].conn.close();
      await until(() => server.connections === 2, "the closed connection counted out");
      const again = await openWithRequest(port);
      assert.equal(again.reply.status, Status.OK);
      again.conn.close();
      for (const { conn } of open.slice(1)) conn.close();
      assert.equal(events.filter((e) => e.reason === "max-per-address").length, 2);
    },
  );
});

Deno.test("connections over the global cap get SERVER_BUSY, and the cap frees as connections close", async () => {
  const events: ConnectionEvent[] = [];
  await withServer({ maxConnections: 2, onConnection: (e) => events.push(e) }, async (server) => {
    const port = server.addr.port;
    const open = await Promise.all([1, 2].map(() => openWithRequest(port)));
    const third = await openWithRequest(port);
    assert.equal(third.reply.status, Status.SERVER_BUSY);
    assert.equal(third.reply.requestId, 1);
    assert.match(third.reply.error, /2 connections open/);
    assert.equal(await third.conn.read(new Uint8Array(16)), null, "closed after the refusal");
    third.conn.close();
    open[0].conn.close();
    await until(() => server.connections === 1, "the closed connection counted out");
    const fourth = await openWithRequest(port);
    assert.equal(fourth.reply.status, Status.OK);
    fourth.conn.close();
    open[1].conn.close();
    assert.deepEqual(events.map((e) => e.reason), ["max-connections"]);
  });
});

Deno.test("an idle framed connection is closed after the idle timeout, its replies delivered", async () => {
  const events: ConnectionEvent[] = [];
  await withServer(
    { idleTimeoutMs: 300, onConnection: (e) => events.push(e) },
    async (server) => {
      const { conn, reply } = await openWithRequest(server.addr.port);
      assert.equal(reply.status, Status.OK);
      assert.equal((await readAll(conn)).length, 0, "closed with nothing more");
      conn.close();
      assert.deepEqual(events.map((e) => e.reason), ["idle-timeout"]);
    },
  );
});

Deno.test("the budget of buffered bytes refuses what would pass it, and is given back on close", async () => {
  const events: ConnectionEvent[] = [];
  await withServer(
    { maxBufferedBytes: 10_000, messageTimeoutMs: 2000, onConnection: (e) => events.push(e) },
    async (server) => {
      const half = oldClientRequest(new Float32Array(784)).subarray(0, 3000);
      const holders: Deno.Conn[] = [];
      for (let i = 0; i < 3; i++) {
        const conn = await Deno.connect(address(server));
        await writeAll(conn, half);
        holders.push(conn);
      }
      await until(() => server.limits.buffered >= 9000, "the holders' bytes counted");
      const over = await Deno.connect(address(server));
      await writeAll(over, half);
      const reply = legacyReply(await readAll(over));
      over.close();
      assert.equal(reply.status, Status.SERVER_BUSY);
      assert.match(reply.error, /budget/);
      for (const c of holders) c.close();
      await until(() => server.limits.buffered === 0, "the holders' bytes given back");
      const ok = await openWithRequest(server.addr.port);
      assert.equal(ok.reply.status, Status.OK);
      ok.conn.close();
      assert.deepEqual(events.map((e) => e.reason), ["buffer-budget"]);
    },
  );
});

Deno.test("the budget counts the memory a framed message holds, and a promised size reserves none of it", async () => {
  const events: ConnectionEvent[] = [];
  await withServer(
    { maxBufferedBytes: 40_000, messageTimeoutMs: 3000, onConnection: (e) => events.push(e) },
    async (server) => {
      // 30 frames begun: a length promising 16 KB, a root offset and MNST.
      const start = new Uint8Array(12);
      new DataView(start.buffer).setUint32(0, 16 * 1024, true);
      new DataView(start.buffer).setUint32(4, 8, true);
      start.set([77, 78, 83, 84], 8);
      const waiting: Deno.Conn[] = [];
      for (let i = 0; i < 30; i++) {
        const conn = await Deno.connect(address(server));
        await writeAll(conn, start);
        waiting.push(conn);
      }
      await until(
        () => server.connections === 30 && server.limits.buffered > 0,
        "the 30 frames begun are held",
      );
      // Each holds a small buffer, not the 16 KB promised: a good client is served.
      const ok = await openWithRequest(server.addr.port);
      assert.equal(ok.reply.status, Status.OK);
      ok.conn.close();
      assert.equal(events.length, 0);
      // 16,000 bytes of a frame hold a 16 KB buffer: past the budget with the others.
      const big = await Deno.connect(address(server));
      await writeAll(big, Uint8Array.of(...start, ...new Uint8Array(16_000 - 12)));
      const { replies } = splitFramed(await readAll(big));
      big.close();
      assert.equal(replies[0]?.status, Status.SERVER_BUSY);
      assert.match(replies[0].error, /budget/);
      assert.deepEqual(events.map((e) => e.reason), ["buffer-budget"]);
      for (const c of waiting) c.close();
    },
  );
});

Deno.test("from a trusted proxy, the PROXY v2 header's address is the client's: in events and per-address caps", async () => {
  const requests: RequestEvent[] = [];
  const trusted = AddressRanges.parse("127.0.0.0/8");
  assert.ok(!(trusted instanceof Error));
  await withServer(
    { trustedProxies: trusted, maxConnectionsPerAddress: 1, onRequest: (e) => requests.push(e) },
    async (server) => {
      const port = server.addr.port;
      const a = await openWithRequest(port, proxyHeader("10.9.8.7", 4000));
      assert.equal(a.reply.status, Status.OK);
      const b = await openWithRequest(port, proxyHeader("10.9.8.7", 4001));
      assert.equal(b.reply.status, Status.SERVER_BUSY, "same client address: over the cap of 1");
      assert.match(b.reply.error, /10\.9\.8\.7 already has 1/);
      const c = await openWithRequest(port, proxyHeader("10.1.1.1", 5000));
      assert.equal(c.reply.status, Status.OK, "another client behind the same proxy");
      for (const x of [a, b, c]) x.conn.close();
      assert.deepEqual(
        requests.map((e) => e.peer),
        ["10.9.8.7:4000", "10.9.8.7:4001", "10.1.1.1:5000"],
      );
    },
  );
});

Deno.test("from an untrusted peer, a PROXY v2 header is a malformed message", async () => {
  await withServer({}, async (server) => {
    const conn = await Deno.connect(address(server));
    await writeAll(conn, Uint8Array.of(...proxyHeader("10.9.8.7", 4000), ...statsFrame(1)));
    const reply = legacyReply(await readAll(conn));
    conn.close();
    assert.equal(reply.status, Status.MALFORMED_BUFFER);
    assert.equal(
      reply.error,
      "a PROXY protocol header from 127.0.0.1, which is not a --trusted-proxy",
    );
  });
});

Deno.test("from a trusted proxy, a second PROXY v2 header is refused naming the proxy", async () => {
  const trusted = AddressRanges.parse("127.0.0.0/8");
  assert.ok(!(trusted instanceof Error));
  await withServer({ trustedProxies: trusted }, async (server) => {
    const conn = await Deno.connect(address(server));
    const header = proxyHeader("10.9.8.7", 4000);
    await writeAll(conn, Uint8Array.of(...header, ...header, ...statsFrame(1)));
    const reply = legacyReply(await readAll(conn));
    conn.close();
    assert.equal(reply.status, Status.MALFORMED_BUFFER);
    assert.equal(
      reply.error,
      "a second PROXY protocol header from 127.0.0.1: one comes per connection",
    );
  });
});

Deno.test("1,000 connections each dripping a frame are each cut on schedule with MALFORMED_BUFFER", async () => {
  const result = await runScenario(8192, ["drip", 1000, "messageTimeoutMs=1000"]);
  assert.equal(result.total, 1000);
  assert.equal(result.replied, 1000);
  assert.equal(result.onSchedule, 1000, "cut while still dripping");
});
