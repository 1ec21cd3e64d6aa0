// A reply filled into its layout (server/core/reply_bytes.ts) is the bytes
// encodeReply builds, for random values of every field, framed and bare, and
// a reply of another shape goes to encodeReply.
import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { decodeReply, encodeReply, type Reply } from "../../shared/reply_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { replyBytes } from "./reply_bytes.ts";

/** A small deterministic generator, so a failure names a reproducible case. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

/** A value for a number field: often 0 or absent, sometimes past its width, negative or not finite. */
function anyNumber(next: () => number, max: number): number | undefined {
  const pick = next();
  if (pick < 0.1) return undefined;
  if (pick < 0.2) return 0;
  if (pick < 0.25) return -1 - Math.floor(next() * 1000);
  if (pick < 0.3) return [NaN, Infinity, -Infinity, 2 ** 40, 0.5][Math.floor(next() * 5)];
  return next() < 0.5 ? Math.floor(next() * max) : next() * max;
}

Deno.test("an inference reply filled into its layout is encodeReply's bytes, framed and bare", () => {
  const next = random(19);
  for (let i = 0; i < 5000; i++) {
    const classes = [10, 10, 10, 1, 0, 3][i % 6];
    const scores = Float32Array.from(
      { length: classes },
      () => (next() - 0.3) * 10 ** (next() * 8),
    );
    if (i % 50 === 0 && classes > 0) scores[0] = NaN;
    const reply: Reply = {
      command: Command.INFERENCE_OUTPUT,
      requestId: 1 + Math.floor(next() * 0xffffffff),
      scores: i % 7 === 0 ? Array.from(scores) : scores,
      predicted: anyNumber(next, 300),
      inferenceMs: anyNumber(next, 50),
      queueMs: anyNumber(next, 50),
      batchSize: anyNumber(next, 70000),
      modelVersion: anyNumber(next, 2 ** 33),
    };
    for (const framed of [true, false]) {
      assert.deepEqual(replyBytes(reply, framed), encodeReply(reply, framed), `case ${i}`);
    }
  }
});

Deno.test("replies of any other shape are encodeReply's own", () => {
  const scores = new Float32Array(10).fill(0.1);
  const others: Reply[] = [
    { command: Command.INFERENCE_OUTPUT, scores }, // no request id: its field is left out
    { command: Command.INFERENCE_OUTPUT, requestId: 3, status: Status.SERVER_BUSY, scores },
    { command: Command.ERROR, requestId: 3, status: Status.SERVER_BUSY, error: "busy" },
    { command: Command.INFERENCE_OUTPUT, requestId: 3, error: "odd", scores },
    { command: Command.INFERENCE_OUTPUT, requestId: 3 },
    {
      command: Command.GET_STATS,
      requestId: 3,
      stats: {
        version: 2,
        freq: 80,
        mode: 0,
        parameters: 1,
        served: 2,
        model: "mnist",
        modelVersion: 1,
      },
    },
  ];
  for (const reply of others) {
    for (const framed of [true, false]) {
      const bytes = replyBytes(reply, framed);
      assert.deepEqual(bytes, encodeReply(reply, framed));
      const decoded = decodeReply(framed ? bytes.subarray(4) : bytes);
      if (decoded instanceof WireError) throw decoded;
      assert.equal(decoded.requestId, reply.requestId ?? 0);
    }
  }
});

Deno.test("each reply is a buffer of its own: filling one changes no other", () => {
  const reply = (requestId: number): Reply => ({
    command: Command.INFERENCE_OUTPUT,
    requestId,
    scores: new Float32Array(10).fill(requestId / 10),
  });
  const first = replyBytes(reply(1), true);
  const kept = first.slice();
  replyBytes(reply(2), true);
  assert.deepEqual(first, kept);
});
