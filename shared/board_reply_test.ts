import assert from "node:assert/strict";
import { decodeReply, encodeLegacyReply, encodeReply } from "./reply_codec.ts";
import { Status, WireError } from "./errors.ts";
import { readReply } from "./board_reply.ts";

const SCORES = [0.01, 0.02, 0.03, 0.04, 0.05, 0.5, 0.06, 0.07, 0.08, 0.14];

/** Replies as the server encodes them: framed payloads and a legacy reply. */
function replies(): Uint8Array[] {
  return [
    encodeReply({
      command: 2,
      requestId: 42,
      scores: SCORES,
      inferenceMs: 1.25,
      predicted: 5,
      queueMs: 0.5,
      batchSize: 3,
    }, true).subarray(4),
    encodeReply({ command: 2, requestId: 0xffffffff, scores: SCORES, inferenceMs: 0 }, true)
      .subarray(4),
    encodeReply({
      command: 3,
      requestId: 7,
      status: Status.SERVER_BUSY,
      error: "4096 digits already waiting",
    }, true).subarray(4),
    encodeReply({ command: 3, requestId: 8, status: Status.INTERNAL_ERROR }, true).subarray(4),
    encodeLegacyReply(SCORES, 0.75),
  ];
}

Deno.test("the board reads what the shared decodeReply reads, on every kind of reply", () => {
  for (const bytes of replies()) {
    const expected = decodeReply(bytes);
    assert.ok(!(expected instanceof WireError));
    const scores = new Float32Array(10);
    const got = readReply(bytes, scores);
    assert.ok(typeof got !== "string", String(got));
    assert.equal(got.id, expected.requestId);
    assert.equal(got.status, expected.status);
    assert.equal(got.error, expected.error);
    if (!expected.status) {
      assert.equal(got.ms, expected.inferenceMs);
      assert.deepEqual(scores, expected.scores);
    }
  }
});

Deno.test("a cut reply is a sentence, never an exception or a read past the end", () => {
  for (const bytes of replies()) {
    for (let n = 0; n < bytes.length; n++) {
      // A copy of exactly n bytes: a view of the original would let reads past n succeed.
      const got = readReply(bytes.slice(0, n), new Float32Array(10));
      if (typeof got !== "string") {
        // Only a reply whose tail is padding or unread fields can still be read.
        assert.deepEqual(got, readReply(bytes, new Float32Array(10)));
      }
    }
  }
});

Deno.test("garbled replies never throw", () => {
  let seed = 1;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (const original of replies()) {
    for (let round = 0; round < 300; round++) {
      const bytes = original.slice();
      for (let k = 0; k < 3; k++) bytes[Math.floor(random() * bytes.length)] = random() * 256;
      const got = readReply(bytes, new Float32Array(10));
      assert.ok(typeof got === "string" || typeof got.id === "number");
    }
  }
  assert.equal(readReply(new Uint8Array(0), new Float32Array(10)), "bad reply: cut short");
});

Deno.test("a reply without scores or status is refused", () => {
  const bytes = encodeReply({ command: 2, requestId: 1 }, true).subarray(4);
  assert.equal(readReply(bytes, new Float32Array(10)), "bad reply: no scores");
  const five = encodeReply({ command: 2, requestId: 1, scores: [1, 2, 3, 4, 5] }, true).subarray(4);
  assert.equal(readReply(five, new Float32Array(10)), "bad reply: no scores");
});

Deno.test("offers and code chunks: the board reads the release, size, CRC-32, MAC and the chunk's bytes", () => {
  const mac = new Uint8Array(20).map((_, i) => 200 + i);
  const offered = encodeReply({
    command: 2,
    requestId: 9,
    scores: SCORES,
    update: { release: "mnist-device/1.0.1+0badc0de", size: 6020, crc32: 0xfedcba98, mac },
  }, true).subarray(4);
  const got = readReply(offered, new Float32Array(10));
  assert.ok(typeof got !== "string", String(got));
  assert.deepEqual(got.offer, [
    "mnist-device/1.0.1+0badc0de",
    6020,
    0xfedcba98,
    String.fromCharCode(...mac),
  ]);
  assert.equal(got.cmd, 2);

  const data = new Uint8Array(512).map((_, i) => i * 7);
  const chunk = encodeReply({
    command: 4,
    requestId: 10,
    chunk: { release: "mnist-device/1.0.1+0badc0de", offset: 512, data, crc32: 0x12345678 },
  }, true).subarray(4);
  const read = readReply(chunk, new Float32Array(10));
  assert.ok(typeof read !== "string", String(read));
  assert.equal(read.cmd, 4);
  assert.equal(read.crc, 0x12345678);
  assert.deepEqual(read.data, data);
  assert.equal(read.offer, undefined);
  // Cut anywhere, a chunk is a sentence, never a read past the end.
  for (let n = 0; n < chunk.length; n += 37) {
    assert.equal(typeof readReply(chunk.subarray(0, n), new Float32Array(10)), "string");
  }
});
