// Replies reach the client whole, in order, even when the connection closes
// right after them: real server on loopback, real sockets.
import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { Status } from "../../shared/errors.ts";
import { runScenario } from "./_socket_scenarios.ts";
import { framedBatch, slowReader, splitFramed, withServer } from "../_test_server.ts";

Deno.test("60,000 pipelined replies to a slow reader all arrive whole before the server closes", async () => {
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
  const result = await runScenario(8192, ["timeouts", 1000, "messageTimeoutMs=500"]);
  assert.deepEqual(result, { total: 1000, replied: 1000 });
});
