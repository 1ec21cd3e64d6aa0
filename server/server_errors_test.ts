// The board port's refusals on a real server: every request error gets a code and a sentence
// and the framed connection goes on; frames over the limit, garbage and truncated messages, a
// full queue and a failed engine are answered, and other clients are served meanwhile.
import assert from "node:assert/strict";
import { Command } from "../shared/codec.ts";
import { decodeReply } from "../shared/reply_codec.ts";
import { encodeRequest } from "../shared/request_codec.ts";
import { Status, WireError } from "../shared/errors.ts";
import { oldClientRequest } from "../shared/testing.ts";
import { InferenceClient } from "../client/client.ts";
import { address, withServer } from "./testing/server.ts";
import { readAll } from "./testing/conn.ts";
import { assertScores, framedReplies, ring } from "./testing/replies.ts";

Deno.test("request errors get a code and a sentence, and the framed connection goes on", async () => {
  await withServer({}, async (server) => {
    const client = await InferenceClient.connect(address(server));
    const unknown = await client.send({ command: 9 });
    assert.equal(unknown.status, Status.UNKNOWN_COMMAND);
    assert.equal(unknown.command, Command.ERROR);
    assert.match(unknown.error, /command 9/);

    const short = await client.infer({ digitU8: new Uint8Array(100) });
    assert.equal(short.status, Status.BAD_DIGIT_LENGTH);
    assert.match(short.error, /100 values, expected 784/);

    // A good frame around a bad FlatBuffer: the root offset points past the end.
    const bad = new Uint8Array([12, 0, 0, 0, 0xf0, 0, 0, 0, 77, 78, 83, 84, 0, 0, 0, 0]);
    const malformed = await client.sendRaw(bad);
    assert.equal(malformed.status, Status.MALFORMED_BUFFER);
    assert.match(malformed.error, /past the end/);

    const fine = await client.infer({ digit: ring() });
    assert.equal(fine.status, Status.OK);
    assertScores(fine.scores);
    client.close();
  });
});

Deno.test("a frame over the limit or without the identifier gets an error, then the connection closes", async () => {
  await withServer({ maxFrame: 4096 }, async (server) => {
    for (
      const [bytes, code] of [
        [
          new Uint8Array([0x00, 0x00, 0x10, 0x00, 8, 0, 0, 0, 77, 78, 83, 84]),
          Status.FRAME_TOO_LARGE,
        ],
        [
          Uint8Array.of(
            ...encodeRequest({ command: Command.GET_STATS, requestId: 1 }, true),
            ...[12, 0, 0, 0, 8, 0, 0, 0, 66, 65, 68, 33, 0, 0, 0, 0],
          ),
          Status.MALFORMED_BUFFER,
        ],
      ] as const
    ) {
      const conn = await Deno.connect(address(server));
      await conn.write(bytes);
      const replies = framedReplies(await readAll(conn)); // readAll returns once the server closes.
      conn.close();
      const last = replies.at(-1)!;
      assert.equal(last.status, code);
      assert.equal(last.command, Command.ERROR);
      assert.ok(last.error.length > 0);
    }
  });
});

Deno.test("legacy garbage and truncated messages get an error reply, and other clients are served meanwhile", async () => {
  await withServer({ messageTimeoutMs: 300 }, async (server) => {
    const good = await InferenceClient.connect(address(server));
    const goodReplies = Array.from({ length: 30 }, () => good.infer({ digit: ring() }));

    const garbage = await Deno.connect(address(server));
    await garbage.write(new Uint8Array(64).fill(0xff));
    const garbageReply = decodeReply(await readAll(garbage));
    garbage.close();
    assert.ok(!(garbageReply instanceof WireError));
    assert.equal(garbageReply.command, Command.ERROR);
    assert.ok(
      [Status.MALFORMED_BUFFER, Status.FRAME_TOO_LARGE].includes(garbageReply.status as 3 | 4),
    );

    // Half a message, then silence: the read timeout answers it.
    const truncated = await Deno.connect(address(server));
    await truncated.write(oldClientRequest(ring()).subarray(0, 1000));
    const truncatedReply = decodeReply(await readAll(truncated));
    truncated.close();
    assert.ok(!(truncatedReply instanceof WireError));
    assert.equal(truncatedReply.status, Status.MALFORMED_BUFFER);
    assert.match(truncatedReply.error, /only 1000 bytes/);

    // Half a message, then the client shuts its side.
    const cut = await Deno.connect(address(server));
    await cut.write(oldClientRequest(ring()).subarray(0, 500));
    await cut.closeWrite();
    const cutReply = decodeReply(await readAll(cut));
    cut.close();
    assert.ok(!(cutReply instanceof WireError));
    assert.equal(cutReply.status, Status.MALFORMED_BUFFER);

    for (const reply of await Promise.all(goodReplies)) {
      assert.equal(reply.status, Status.OK);
      assertScores(reply.scores);
    }
    good.close();
  });
});

Deno.test("a full queue answers SERVER_BUSY at once and serves the rest", async () => {
  await withServer({ maxQueued: 1 }, async (server) => {
    // A connection's first read is small (1 KB): GET_STATS frames fill it.
    // Having filled it, the next read takes the rest, and ten byte-digit
    // frames (8.5 KB, all in one write) are decoded in one go: the first
    // runs, the second waits, the rest find the queue full.
    const digitU8 = ring().map((v) => v * 255);
    const stats = encodeRequest({ command: Command.GET_STATS, requestId: 100 }, true);
    const statsCount = Math.ceil(1100 / stats.length);
    const frames = [
      ...Array.from({ length: statsCount }, () => stats),
      ...Array.from(
        { length: 10 },
        (_, i) => encodeRequest({ command: 1, requestId: i + 1, digitU8 }, true),
      ),
    ];
    const conn = await Deno.connect(address(server));
    await conn.write(Uint8Array.from(frames.flatMap((f) => Array.from(f))));
    await conn.closeWrite();
    const replies = framedReplies(await readAll(conn)).slice(statsCount);
    conn.close();
    assert.deepEqual(replies.map((r) => r.requestId), Array.from({ length: 10 }, (_, i) => i + 1));
    const statuses = replies.map((r) => r.status);
    assert.deepEqual(statuses.slice(0, 2), [Status.OK, Status.OK]);
    assert.ok(statuses.slice(2).every((s) => s === Status.SERVER_BUSY), statuses.join(","));
    assert.match(replies[9].error, /already waiting/);
  });
});

Deno.test("a failed engine answers INTERNAL_ERROR instead of hanging", async () => {
  await withServer({}, async (server) => {
    server.engine.close();
    const client = await InferenceClient.connect(address(server));
    const reply = await client.infer({ digit: ring() });
    client.close();
    assert.equal(reply.status, Status.INTERNAL_ERROR);
    assert.match(reply.error, /inference failed/);
  });
});
