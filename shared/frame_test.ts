import assert from "node:assert/strict";
import { Command } from "./codec.ts";
import { decodeRequest, encodeRequest } from "./request_codec.ts";
import { WireError } from "./errors.ts";
import { detectFraming, FrameDecoder, legacyMessageEnd } from "./frame.ts";
import { oldClientRequest } from "./testing.ts";

function oldClientRequestHalf(): Uint8Array {
  return oldClientRequest(new Float32Array(784).fill(0.5));
}

Deno.test("frames cut out of a stream delivered a byte at a time and in big lumps", () => {
  const frames = [1, 2, 3].map((id) =>
    encodeRequest({
      command: Command.INFERENCE_INPUT,
      requestId: id,
      digitU8: new Uint8Array(784).fill(id),
    }, true)
  );
  const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    stream.set(f, at);
    at += f.length;
  }
  for (const piece of [1, 7, 268, 536, stream.length]) {
    const decoder = new FrameDecoder(16384, 64);
    const ids: number[] = [];
    for (let i = 0; i < stream.length; i += piece) {
      decoder.push(stream.subarray(i, i + piece));
      for (let payload = decoder.next(); payload !== null; payload = decoder.next()) {
        assert.ok(!(payload instanceof WireError));
        const request = decodeRequest(payload);
        assert.ok(!(request instanceof WireError));
        assert.equal(request.digitU8![0], request.requestId);
        ids.push(request.requestId);
      }
    }
    assert.deepEqual(ids, [1, 2, 3], `pieces of ${piece}`);
    assert.equal(decoder.buffered, 0);
  }
});

Deno.test("a frame over the limit, too short or without the identifier is an error", () => {
  const big = new FrameDecoder(1000);
  big.push(new Uint8Array([0xe9, 0x03, 0, 0])); // 1001
  const tooLarge = big.next();
  assert.ok(tooLarge instanceof WireError && tooLarge.code === "FRAME_TOO_LARGE");

  const huge = new FrameDecoder(1000);
  huge.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  const hugeError = huge.next();
  assert.ok(
    hugeError instanceof WireError && hugeError.code === "FRAME_TOO_LARGE",
    String(hugeError),
  );
  assert.match(hugeError.message, /4294967295/);

  const short = new FrameDecoder(1000);
  short.push(new Uint8Array([3, 0, 0, 0, 1, 2, 3]));
  const shortError = short.next();
  assert.ok(shortError instanceof WireError && shortError.code === "MALFORMED_BUFFER");

  const anonymous = new FrameDecoder(1000);
  anonymous.push(new Uint8Array([12, 0, 0, 0, 8, 0, 0, 0, 65, 66, 67, 68]));
  const anonymousError = anonymous.next();
  assert.ok(anonymousError instanceof WireError && anonymousError.code === "MALFORMED_BUFFER");
});

Deno.test("detectFraming reads the identifier at bytes 8..11", () => {
  const framed = encodeRequest({ command: Command.GET_STATS, requestId: 1 }, true);
  assert.equal(detectFraming(framed.subarray(0, 11)), null);
  assert.equal(detectFraming(framed), "framed");
  assert.equal(detectFraming(oldClientRequestHalf()), "legacy");
  assert.equal(
    detectFraming(
      encodeRequest({ command: Command.INFERENCE_INPUT, digit: new Float32Array(784) }, false),
    ),
    "legacy",
  );
});

Deno.test("legacyMessageEnd finds the old client's message end from its offsets", () => {
  const message = oldClientRequestHalf();
  // A legacy C++ client sent exactly this many bytes.
  assert.equal(message.length, 3180);
  for (let n = 0; n < message.length; n++) {
    assert.equal(legacyMessageEnd(message.subarray(0, n), 65536), 0, `${n} bytes`);
  }
  assert.equal(legacyMessageEnd(message, 65536), 3180);
  const trailing = new Uint8Array(4000);
  trailing.set(message);
  assert.equal(legacyMessageEnd(trailing, 65536), 3180);

  const ours = encodeRequest(
    { command: Command.INFERENCE_INPUT, digit: new Float32Array(784) },
    false,
  );
  assert.equal(legacyMessageEnd(ours, 65536), ours.length);
  const stats = encodeRequest({ command: Command.GET_STATS }, false);
  assert.equal(legacyMessageEnd(stats, 65536), stats.length);
});

Deno.test("legacyMessageEnd reads strings, updates and chunks whole, at every cut", () => {
  const messages = [
    encodeRequest({
      command: Command.INFERENCE_INPUT,
      digitU8: new Uint8Array(784),
      token: "t".repeat(32),
      model: "mnist",
      client: "espruino-2v25",
      device: "board-7",
    }, false),
    encodeRequest({
      command: Command.CODE_CHUNK,
      chunk: { release: "firmware-9", offset: 1024, data: new Uint8Array(0), crc32: 0 },
    }, false),
    encodeRequest({
      command: Command.UPDATE_REPORT,
      error: "a reason",
      update: { release: "firmware-9", size: 10, crc32: 7, mac: new Uint8Array(20), state: 5 },
    }, false),
  ];
  for (const message of messages) {
    for (let n = 0; n < message.length; n++) {
      assert.equal(legacyMessageEnd(message.subarray(0, n), 65536), 0, `${n} bytes`);
    }
    assert.equal(legacyMessageEnd(message, 65536), message.length);
  }
});

Deno.test("legacyMessageEnd refuses messages over the limit and impossible vtables", () => {
  const message = oldClientRequestHalf();
  const tooLong = legacyMessageEnd(message, 2000);
  assert.ok(tooLong instanceof WireError && tooLong.code === "FRAME_TOO_LARGE");

  const bogusLength = message.slice();
  const dv = new DataView(bogusLength.buffer);
  dv.setUint32(message.length - 3136 - 4, 0x7fffffff, true);
  const bogus = legacyMessageEnd(bogusLength, 65536);
  assert.ok(bogus instanceof WireError && bogus.code === "FRAME_TOO_LARGE");

  const garbage = new Uint8Array(64).fill(0xff);
  const garbageEnd = legacyMessageEnd(garbage, 65536);
  assert.ok(garbageEnd instanceof WireError, String(garbageEnd));
});

Deno.test("reading straight into the decoder: space, commit, missing, and a buffer no bigger than asked", () => {
  const frame = encodeRequest({
    command: Command.INFERENCE_INPUT,
    requestId: 9,
    digitU8: new Uint8Array(784).fill(3),
  }, true);
  const decoder = new FrameDecoder(16384, 1024);
  assert.equal(decoder.missing, 0);
  // A header promising the frame: what is missing is known, nothing is reserved.
  let room = decoder.space(1);
  room.set(frame.subarray(0, 12));
  decoder.commit(12);
  assert.equal(decoder.missing, frame.length - 12);
  assert.equal(decoder.capacity, 1024);
  assert.equal(decoder.capacityFor(decoder.missing), Math.ceil(frame.length / 1024) * 1024);
  // The rest, read into the room asked for.
  room = decoder.space(decoder.missing);
  assert.ok(room.length >= frame.length - 12);
  room.set(frame.subarray(12));
  decoder.commit(frame.length - 12);
  assert.equal(decoder.missing, 0);
  const payload = decoder.next();
  assert.ok(payload instanceof Uint8Array);
  const request = decodeRequest(payload);
  assert.ok(!(request instanceof WireError));
  assert.equal(request.requestId, 9);
  // Emptied after a burst, a grown buffer goes back to its first size.
  decoder.space(64 * 1024);
  assert.equal(decoder.capacity, 64 * 1024);
  decoder.space(1);
  assert.equal(decoder.capacity, 1024);
  assert.equal(decoder.free, 1024);
});
