// The generated code on the official `flatbuffers` runtime is the oracle: bytes
// the lean codec writes must read back through it, and bytes it writes must
// decode with the lean codec, for every message kind.
import assert from "node:assert/strict";
import * as flatbuffers from "flatbuffers";
import { Commands } from "./generated/mnist-prot/commands.ts";
import { Command as GenCommand } from "./generated/mnist-prot/command.ts";
import { Command } from "./codec.ts";
import { decodeReply } from "./reply_codec.ts";
import { decodeRequest, encodeRequest, peekRequestId } from "./request_codec.ts";
import { WireError } from "./errors.ts";
import { oracleRequest } from "./testing.ts";

function digitBytes(seed: number): Uint8Array {
  return Uint8Array.from({ length: 784 }, (_, i) => (i * 31 + seed * 7) & 0xff);
}

function digitFloats(seed: number): Float32Array {
  return Float32Array.from(digitBytes(seed), (b) => b / 255);
}

function oracleRoot(bytes: Uint8Array, framed: boolean): Commands {
  const bb = new flatbuffers.ByteBuffer(bytes);
  return framed ? Commands.getSizePrefixedRootAsCommands(bb) : Commands.getRootAsCommands(bb);
}

Deno.test("framed requests written by the codec read back through the generated code", () => {
  const pixels = digitBytes(1);
  const u8 = encodeRequest(
    { command: Command.INFERENCE_INPUT, requestId: 42, digitU8: pixels },
    true,
  );
  const root = oracleRoot(u8, true);
  assert.ok(Commands.bufferHasIdentifier(new flatbuffers.ByteBuffer(u8.subarray(4))));
  assert.equal(new DataView(u8.buffer).getUint32(0, true), u8.length - 4);
  assert.equal(root.cmd(), GenCommand.CMD_INFERENCE_INPUT);
  assert.equal(root.requestId(), 42);
  assert.deepEqual(root.input()!.digitU8Array(), pixels);
  assert.equal(root.input()!.digitLength(), 0);

  const floats = digitFloats(2);
  const f = encodeRequest({ command: Command.INFERENCE_INPUT, requestId: 7, digit: floats }, true);
  assert.deepEqual(oracleRoot(f, true).input()!.digitArray(), floats);

  const stats = encodeRequest({ command: Command.GET_STATS, requestId: 9 }, true);
  assert.equal(oracleRoot(stats, true).cmd(), GenCommand.CMD_GET_STATS);
  assert.equal(oracleRoot(stats, true).requestId(), 9);
});

Deno.test("requests written by the generated code decode with the codec", () => {
  const cases = [
    { cmd: 1, requestId: 5, digitU8: digitBytes(5) },
    { cmd: 1, requestId: 6, digit: digitFloats(6) },
    { cmd: 0, requestId: 8 },
    {
      cmd: 1,
      requestId: 9,
      digitU8: digitBytes(1),
      token: "t".repeat(32),
      model: "m",
      client: "c 1",
      device: "5ccf7f0a1b2c",
    },
  ];
  for (const framed of [true, false]) {
    for (const c of cases) {
      const bytes = oracleRequest(c, framed);
      const decoded = decodeRequest(framed ? bytes.subarray(4) : bytes);
      assert.ok(!(decoded instanceof WireError), String(decoded));
      assert.equal(decoded.command, c.cmd);
      assert.equal(decoded.requestId, c.requestId);
      assert.deepEqual(decoded.digitU8 ?? undefined, c.digitU8);
      assert.deepEqual(decoded.digit ?? undefined, c.digit);
      assert.equal(decoded.token, c.token ?? "");
      assert.equal(decoded.model, c.model ?? "");
      assert.equal(decoded.client, c.client ?? "");
      assert.equal(decoded.device, c.device ?? "");
      const own = decodeRequest(
        encodeRequest({ command: c.cmd, ...c }, framed).subarray(framed ? 4 : 0),
      );
      assert.deepEqual(own, decoded);
    }
  }
});

Deno.test("peekRequestId reads the id of a refused request, and 0 from garbage", () => {
  const refused = oracleRequest({ cmd: 9, requestId: 77 }, true).subarray(4);
  assert.ok(decodeRequest(refused) instanceof WireError);
  assert.equal(peekRequestId(refused), 77);
  assert.equal(peekRequestId(new Uint8Array([255, 255, 255, 255])), 0);
  assert.equal(peekRequestId(new Uint8Array(0)), 0);
});

Deno.test("decodeRequest refuses unknown commands and digits of the wrong length", () => {
  const unknown = decodeRequest(oracleRequest({ cmd: 9 }, false));
  assert.ok(unknown instanceof WireError);
  assert.equal(unknown.code, "UNKNOWN_COMMAND");

  const short = decodeRequest(oracleRequest({ cmd: 1, digit: new Float32Array(783) }, false));
  assert.ok(short instanceof WireError);
  assert.equal(short.code, "BAD_DIGIT_LENGTH");
  assert.match(short.message, /783/);

  const none = decodeRequest(oracleRequest({ cmd: 1 }, false));
  assert.ok(none instanceof WireError && none.code === "BAD_DIGIT_LENGTH");

  const both = decodeRequest(
    oracleRequest({ cmd: 1, digit: digitFloats(1), digitU8: digitBytes(1) }, false),
  );
  assert.ok(both instanceof WireError && both.code === "BAD_DIGIT_LENGTH");
});

Deno.test("every truncation of a valid request is a MALFORMED_BUFFER error, never a wrong answer", () => {
  for (
    const bytes of [
      oracleRequest({ cmd: 1, requestId: 1, digitU8: digitBytes(1) }, false),
      encodeRequest({ command: 1, digit: digitFloats(2) }, false),
    ]
  ) {
    for (let n = 0; n < bytes.length; n++) {
      const decoded = decodeRequest(bytes.subarray(0, n));
      assert.ok(decoded instanceof WireError, `a ${n}-byte prefix decoded`);
      assert.equal(decoded.code, "MALFORMED_BUFFER");
    }
  }
});

Deno.test("corrupted offsets and lengths are caught before any read", () => {
  const good = encodeRequest({ command: 1, requestId: 3, digitU8: digitBytes(3) }, false);
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const mutations: [string, (b: Uint8Array) => void][] = [
    ["root offset past the end", (b) => dv(b).setUint32(0, 1 << 30, true)],
    ["root offset into the middle", (b) => dv(b).setUint32(0, b.length - 2, true)],
    ["vtable before the buffer", (b) => dv(b).setInt32(dv(b).getUint32(0, true), 1 << 20, true)],
    ["odd vtable size", (b) => dv(b).setUint16(4, 7, true)],
    ["vector length huge", (b) => dv(b).setUint32(b.length - 784 - 4, 0xffffffff, true)],
    ["vector length one too many", (b) => dv(b).setUint32(b.length - 784 - 4, 785, true)],
  ];
  for (const [what, mutate] of mutations) {
    const bytes = good.slice();
    mutate(bytes);
    const decoded = decodeRequest(bytes);
    assert.ok(decoded instanceof WireError, what);
    assert.ok(
      decoded.code === "MALFORMED_BUFFER" || decoded.code === "BAD_DIGIT_LENGTH",
      `${what}: ${decoded}`,
    );
  }
});

Deno.test("random garbage never decodes to a digit of the wrong size or throws", () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 2000; i++) {
    const bytes = Uint8Array.from(
      { length: Math.floor(random() * 200) },
      () => Math.floor(random() * 256),
    );
    // Small plausible offsets make the reader walk further before it fails.
    if (bytes.length > 8) {
      new DataView(bytes.buffer).setUint32(0, Math.floor(random() * bytes.length), true);
    }
    const decoded = decodeRequest(bytes);
    if (!(decoded instanceof WireError)) {
      assert.ok(decoded.digit === null || decoded.digit.length === 784);
      assert.ok(decoded.digitU8 === null || decoded.digitU8.length === 784);
    }
    const reply = decodeReply(bytes);
    if (!(reply instanceof WireError) && reply.scores) {
      assert.ok(reply.scores.length <= bytes.length / 4);
    }
  }
});
