// End-to-end tests of the server: a real server on an ephemeral loopback
// port, real sockets, the real model and onnxruntime-web.
import assert from "node:assert/strict";
import { Logger } from "./log.ts";
import * as flatbuffers from "flatbuffers";
import { Commands } from "../shared/generated/mnist-prot/commands.ts";
import { Command as GenCommand } from "../shared/generated/mnist-prot/command.ts";
import { Command, LEGACY_REPLY_LENGTH } from "../shared/codec.ts";
import { type DecodedReply, decodeReply } from "../shared/reply_codec.ts";
import { encodeRequest } from "../shared/request_codec.ts";
import { Status, WireError } from "../shared/errors.ts";
import { oldClientRequest } from "../shared/testing.ts";
import { InferenceClient, legacyExchange, legacyInfer } from "../client/client.ts";
import { address, withServer } from "./testing/server.ts";
import { readAll } from "./testing/conn.ts";
import { startServer } from "./server.ts";
import { assertScores, framedReplies, ring } from "./testing/replies.ts";

const quiet = new Logger("error", () => {});

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
