// End-to-end tests of the server: a real server on an ephemeral loopback
// port, real sockets, the real model and onnxruntime-web.
import assert from "node:assert/strict";
import * as flatbuffers from "flatbuffers";
import { Commands } from "../shared/generated/mnist-prot/commands.ts";
import { Command as GenCommand } from "../shared/generated/mnist-prot/command.ts";
import { Command, LEGACY_REPLY_LENGTH } from "../shared/codec.ts";
import { type DecodedReply, decodeReply } from "../shared/reply_codec.ts";
import { encodeRequest } from "../shared/request_codec.ts";
import { Status, WireError } from "../shared/errors.ts";
import { oldClientRequest } from "../shared/testing.ts";
import { InferenceClient, legacyExchange, legacyInfer } from "../client/client.ts";
import { Logger } from "./log.ts";
import { address, splitFramed, withServer } from "./testing/server.ts";
import { readAll } from "./testing/conn.ts";
import { startServer } from "./server.ts";

const quiet = new Logger("error", () => {});

/** A digit-like picture: a filled ring (0..1) so the model sees structure, not noise. */
function ring(scale = 1): Float32Array {
  return Float32Array.from({ length: 784 }, (_, i) => {
    const r = Math.hypot((i % 28) - 13.5, Math.floor(i / 28) - 13.5);
    return r > 6 && r < 9 ? scale : 0;
  });
}

function assertScores(scores: ArrayLike<number> | null) {
  assert.ok(scores, "the reply carries scores");
  assert.equal(scores.length, 10);
  let sum = 0;
  for (const s of Array.from(scores)) {
    assert.ok(Number.isFinite(s) && s >= 0 && s <= 1, `score ${s}`);
    sum += s;
  }
  assert.ok(Math.abs(sum - 1) < 1e-3, `scores sum to ${sum}`);
}

/** The replies in a byte stream of size-prefixed replies, none cut off. */
function framedReplies(bytes: Uint8Array): DecodedReply[] {
  const { replies, rest } = splitFramed(bytes);
  assert.equal(rest, 0, "no partial reply");
  return replies;
}

Deno.test("a legacy request built by the generated code gets a 96-byte reply the generated code reads", async () => {
  await withServer({}, async (server) => {
    const bytes = await legacyExchange(address(server), oldClientRequest(ring()));
    assert.equal(bytes.length, LEGACY_REPLY_LENGTH);
    const root = Commands.getRootAsCommands(new flatbuffers.ByteBuffer(bytes));
    assert.equal(root.cmd(), GenCommand.CMD_INFERENCE_OUTPUT);
    const output = root.output()!;
    assert.equal(output.outputN(), 10);
    assertScores(output.outputFArray());
    assert.ok(output.timerMs() > 0 && Number.isFinite(output.timerMs()));
  });
});

Deno.test("NaN, Inf and huge floats get a valid 96-byte reply", async () => {
  await withServer({}, async (server) => {
    const garbage = Float32Array.from(
      { length: 784 },
      (_, i) => [NaN, Infinity, -Infinity, 3e38, -1e30, 0.5][i % 6],
    );
    for (const framed of [false, true]) {
      if (framed) {
        const client = await InferenceClient.connect(address(server));
        const reply = await client.infer({ digit: garbage });
        client.close();
        assert.equal(reply.status, Status.OK);
        assertScores(reply.scores);
      } else {
        const { reply, length } = await legacyInfer(address(server), garbage);
        assert.equal(length, LEGACY_REPLY_LENGTH);
        assert.ok(!(reply instanceof WireError));
        assertScores(reply.scores);
      }
    }
  });
});

Deno.test("a legacy request that trickles in, a few bytes at a time, is answered", async () => {
  await withServer({}, async (server) => {
    const conn = await Deno.connect(address(server));
    const request = oldClientRequest(ring());
    for (let i = 0; i < request.length; i += 268) {
      await conn.write(request.subarray(i, i + 268));
      await new Promise((r) => setTimeout(r, 2));
    }
    const reply = await readAll(conn);
    conn.close();
    assert.equal(reply.length, 96);
    const decoded = decodeReply(reply);
    assert.ok(!(decoded instanceof WireError));
    assertScores(decoded.scores);
  });
});

Deno.test("framed float and byte digits, pipelined in one write, come back in order with their ids", async () => {
  await withServer({}, async (server) => {
    const conn = await Deno.connect(address(server));
    const requests: Uint8Array[] = [];
    for (let id = 1; id <= 20; id++) {
      const digit = ring(id % 2 ? 1 : 0.5);
      requests.push(
        id % 4 < 2
          ? encodeRequest({ command: Command.INFERENCE_INPUT, requestId: id, digit }, true)
          : encodeRequest({
            command: Command.INFERENCE_INPUT,
            requestId: id,
            digitU8: digit.map((v) => Math.round(v * 255)),
          }, true),
      );
    }
    const stream = new Uint8Array(requests.reduce((n, r) => n + r.length, 0));
    requests.reduce((at, r) => (stream.set(r, at), at + r.length), 0);
    await conn.write(stream);
    await conn.closeWrite();
    const replies = framedReplies(await readAll(conn));
    conn.close();
    assert.deepEqual(replies.map((r) => r.requestId), Array.from({ length: 20 }, (_, i) => i + 1));
    for (const reply of replies) {
      assert.equal(reply.status, Status.OK);
      assert.equal(reply.command, Command.INFERENCE_OUTPUT);
      assertScores(reply.scores);
      const best = Array.from(reply.scores!).indexOf(Math.max(...reply.scores!));
      assert.equal(reply.predicted, best);
      assert.ok(reply.batchSize >= 1 && reply.batchSize <= 20);
      assert.equal(reply.modelVersion, 1);
      assert.ok(reply.inferenceMs > 0 && reply.queueMs >= 0);
    }
    // The same picture as floats and as bytes scores the same (255 and 128 per pixel ≈ 1 and 0.5).
    const floatFull = replies[0].scores!; // id 1: floats, scale 1
    const bytesFull = replies[2].scores!; // id 3: bytes, scale 1
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(floatFull[i] - bytesFull[i]) < 1e-5);
    // Requests that queued behind the first run were batched together.
    assert.ok(replies.some((r) => r.batchSize > 1), "some requests shared a run");
  });
});

Deno.test("GET_STATS freq is a rate over a window, the same for every caller", async () => {
  await withServer({}, async (server) => {
    const client = await InferenceClient.connect(address(server));
    const other = await InferenceClient.connect(address(server));
    await Promise.all(Array.from({ length: 50 }, () => client.infer({ digit: ring() })));
    const first = (await client.stats()).stats!;
    const second = (await other.stats()).stats!;
    client.close();
    other.close();
    // Before, asking reset the count: the second caller, right after the first, got 0.
    assert.ok(first.freq > 0, `freq ${first.freq}`);
    assert.ok(Math.abs(second.freq - first.freq) <= 1, `${first.freq} then ${second.freq}`);
    assert.equal(first.modelVersion, 1);
  });
});

Deno.test("GET_STATS is answered in both modes", async () => {
  await withServer({}, async (server) => {
    const client = await InferenceClient.connect(address(server));
    await client.infer({ digit: ring() });
    const reply = await client.stats();
    client.close();
    assert.equal(reply.command, Command.GET_STATS);
    assert.equal(reply.stats?.parameters, 93322);
    assert.equal(reply.stats?.served, 1);
    assert.equal(reply.stats?.model, "mnist");
    assert.equal(reply.stats?.version, 2);

    const legacy = decodeReply(
      await legacyExchange(address(server), encodeRequest({ command: Command.GET_STATS }, false)),
    );
    assert.ok(!(legacy instanceof WireError));
    assert.equal(legacy.command, Command.GET_STATS);
    assert.equal(legacy.stats?.served, 1);
  });
});

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

Deno.test("500 concurrent one-shot legacy clients all get a valid 96-byte reply", async () => {
  await withServer({}, async (server) => {
    const request = oldClientRequest(ring());
    const replies = await Promise.all(
      Array.from({ length: 500 }, () => legacyExchange(address(server), request)),
    );
    for (const bytes of replies) {
      assert.equal(bytes.length, 96);
      const reply = decodeReply(bytes);
      assert.ok(!(reply instanceof WireError));
      assertScores(reply.scores);
    }
    assert.equal(server.queue.served, 500);
    assert.ok(server.queue.runs < 500, `batched into ${server.queue.runs} runs`);
  });
});

Deno.test("shutdown answers what is in flight, then stops accepting", async () => {
  const server = await startServer({ hostname: "127.0.0.1", port: 0, log: quiet });
  const client = await InferenceClient.connect(address(server));
  const pending = Array.from({ length: 50 }, () => client.infer({ digit: ring() }));
  // Shut down while the rest are under way: the first answer is in.
  await pending[0];
  await server.shutdown();
  await server.finished;
  const replies = await Promise.allSettled(pending);
  // Everything the server had received was answered; none was dropped half-way.
  const answered = replies.filter((r) => r.status === "fulfilled");
  assert.ok(answered.length > 0);
  for (const r of answered) {
    assert.equal((r as PromiseFulfilledResult<DecodedReply>).value.status, Status.OK);
  }
  await client.closed;
  client.close();
  await assert.rejects(Deno.connect(address(server)));
});
