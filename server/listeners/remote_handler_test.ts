// A listener Worker's stand-in handler against the real server (`--listeners
// 2`): a connection's share of the queue pauses its reads as in process, and
// a trusted proxy's PROXY v2 header names the client for the main thread's
// handler and the shared per-address cap. Needs `deno test --unstable-net`.
import assert from "node:assert/strict";
import { Status } from "../../shared/errors.ts";
import { Command } from "../../shared/codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { AddressRanges } from "../auth/cidr.ts";
import type { RequestEvent } from "../core/request.ts";
import {
  address,
  framedBatch,
  pipelinedReplies,
  proxyHeader,
  splitFramed,
  withServer,
} from "../testing/server.ts";
import { writeAll } from "../write_all.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_options.ts";

function needUnstableNet(): void {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
}

Deno.test("--listeners 2: a connection with its share queued is not read until under it", async () => {
  needUnstableNet();
  await withServer({ listeners: 2, maxQueued: 64, minQueueShare: 16 }, async (server) => {
    const replies = await pipelinedReplies(server, 2000);
    assert.equal(replies.length, 2000);
    // As in process (limits_test.ts): paused at its share, a run of refusals is
    // at most what one read holds; read on regardless, runs would reach --max-pipelined.
    let run = 0;
    let longest = 0;
    for (const r of replies) {
      run = r.status === Status.SERVER_BUSY ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    const perRead = Math.ceil((2 * 16 * 1024) / framedBatch(1).length);
    assert.ok(longest <= perRead, `${longest} refusals in a row, more than ${perRead}`);
  });
});

Deno.test("--listeners 2: from a trusted proxy, the PROXY v2 header names the client, for events and the cap", async () => {
  needUnstableNet();
  const requests: RequestEvent[] = [];
  const trusted = AddressRanges.parse("127.0.0.0/8");
  assert.ok(!(trusted instanceof Error));
  const options = {
    listeners: 2,
    trustedProxies: trusted,
    maxConnectionsPerAddress: 1,
    onRequest: (e: RequestEvent) => requests.push(e),
  };
  await withServer(options, async (server) => {
    const ask = async (ip: string, port: number) => {
      const conn = await Deno.connect(address(server));
      const stats = encodeRequest({ command: Command.GET_STATS, requestId: 1 }, true);
      await writeAll(conn, Uint8Array.of(...proxyHeader(ip, port), ...stats));
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf);
      return { conn, reply: splitFramed(buf.subarray(0, n ?? 0)).replies[0] };
    };
    const a = await ask("10.9.8.7", 4000);
    const b = await ask("10.9.8.7", 4001);
    const c = await ask("10.1.1.1", 5000);
    for (const x of [a, b, c]) x.conn.close();
    assert.equal(a.reply.status, Status.OK);
    assert.equal(b.reply.status, Status.SERVER_BUSY, "same client address: over the cap of 1");
    assert.match(b.reply.error, /10\.9\.8\.7 already has 1/);
    assert.equal(c.reply.status, Status.OK, "another client behind the same proxy");
    // A Worker answers a refusal itself and tells the main thread after, in its next batch: wait
    // (bounded) for the three events. Each Worker tells the main thread on its own, so events of
    // different Workers come in either order.
    for (let i = 0; requests.length < 3 && i < 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(requests.map((e) => e.peer).sort(), [
      "10.1.1.1:5000",
      "10.9.8.7:4000",
      "10.9.8.7:4001",
    ]);
  });
});
