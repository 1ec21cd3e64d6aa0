// The generated code on the official `flatbuffers` runtime is the oracle: bytes
// the lean codec writes must read back through it, and bytes it writes must
// decode with the lean codec, for every message kind.
import assert from "node:assert/strict";
import * as flatbuffers from "flatbuffers";
import { Commands } from "./generated/mnist-prot/commands.ts";
import { InferenceOutput } from "./generated/mnist-prot/inference-output.ts";
import { Stats as StatsTable } from "./generated/mnist-prot/stats.ts";
import { Command as GenCommand } from "./generated/mnist-prot/command.ts";
import {
  Command,
  decodeReply,
  decodeRequest,
  encodeLegacyReply,
  encodeReply,
  encodeRequest,
  InferenceRequestWriter,
  LEGACY_REPLY_LENGTH,
  peekRequestId,
} from "./codec.ts";
import { Status, WireError } from "./errors.ts";
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

Deno.test("InferenceRequestWriter refills one buffer that the generated code reads", () => {
  for (const [framed, u8] of [[true, true], [true, false], [false, false]]) {
    const writer = new InferenceRequestWriter(framed, u8);
    const first = writer.write(1, digitBytes(3));
    const again = writer.write(2, digitBytes(4));
    assert.equal(first, again, "the same buffer every time");
    const root = oracleRoot(again, framed);
    assert.equal(root.cmd(), GenCommand.CMD_INFERENCE_INPUT);
    if (framed) assert.equal(root.requestId(), 2);
    if (u8) assert.deepEqual(root.input()!.digitU8Array(), digitBytes(4));
    else {assert.deepEqual(
        root.input()!.digitArray(),
        Float32Array.from(digitBytes(4), (b) => b / 255),
      );}
  }
});

Deno.test("InferenceRequestWriter's device field shares the token's characters", () => {
  const writer = new InferenceRequestWriter(true, true, {
    token: 32,
    client: "fw 1",
    deviceInToken: true,
  });
  const bytes = writer.write(3, digitBytes(2));
  const view = new DataView(bytes.buffer);
  assert.equal(oracleRoot(bytes, true).device(), oracleRoot(bytes, true).token());
  // A board without a token writes its id and the id's length there.
  const serial = "5ccf7f0a-1b2c";
  view.setUint32(writer.tokenAt - 4, serial.length, true);
  for (let i = 0; i < serial.length; i++) bytes[writer.tokenAt + i] = serial.charCodeAt(i);
  const root = oracleRoot(bytes, true);
  assert.equal(root.device(), serial, "the generated code reads the id the board wrote");
  assert.equal(root.client(), "fw 1");
  const decoded = decodeRequest(bytes.subarray(4));
  assert.ok(!(decoded instanceof WireError), String(decoded));
  assert.equal(decoded.device, serial);
  assert.deepEqual(decoded.digitU8, digitBytes(2));
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

Deno.test("the legacy reply is 96 bytes whatever its values, and the generated code reads it", () => {
  for (const ms of [0, 0.25, 1e9, NaN]) {
    const scores = Float32Array.from({ length: 10 }, (_, i) => (i === 3 ? 0.91 : 0.01));
    const bytes = encodeLegacyReply(scores, ms);
    assert.equal(bytes.length, LEGACY_REPLY_LENGTH);
    const root = oracleRoot(bytes, false);
    assert.equal(root.cmd(), GenCommand.CMD_INFERENCE_OUTPUT);
    assert.deepEqual(root.output()!.outputFArray(), scores);
    assert.equal(root.output()!.outputN(), 10);
    if (Number.isNaN(ms)) assert.ok(Number.isNaN(root.output()!.timerMs()));
    else assert.equal(root.output()!.timerMs(), Math.fround(ms));
  }
});

Deno.test("framed replies read back through the generated code", () => {
  const scores = Float32Array.from({ length: 10 }, (_, i) => i / 10);
  const bytes = encodeReply({
    command: Command.INFERENCE_OUTPUT,
    requestId: 77,
    scores,
    predicted: 9,
    inferenceMs: 1.5,
    queueMs: 0.25,
    batchSize: 300,
  }, true);
  const root = oracleRoot(bytes, true);
  const out = root.output(new InferenceOutput())!;
  assert.equal(root.requestId(), 77);
  assert.equal(root.status(), Status.OK);
  assert.deepEqual(out.outputFArray(), scores);
  assert.equal(out.predicted(), 9);
  assert.equal(out.timerMs(), 1.5);
  assert.equal(out.queueMs(), 0.25);
  assert.equal(out.batchSize(), 300);

  const error = encodeReply({
    command: Command.ERROR,
    requestId: 3,
    status: Status.SERVER_BUSY,
    error: "busy",
  }, true);
  const e = oracleRoot(error, true);
  assert.equal(e.cmd(), 3);
  assert.equal(e.status(), Status.SERVER_BUSY);
  assert.equal(e.error(), "busy");
  assert.equal(e.output(), null);

  const stats = encodeReply({
    command: Command.GET_STATS,
    stats: { version: 2, freq: 1234, mode: 0, parameters: 93322, served: 99, model: "mnist.onnx" },
  }, false);
  const s = oracleRoot(stats, false).stats(new StatsTable())!;
  assert.equal(s.version(), 2);
  assert.equal(s.freq(), 1234);
  assert.equal(s.parameters(), 93322);
  assert.equal(s.served(), 99);
  assert.equal(s.model(), "mnist.onnx");
});

Deno.test("replies written by the generated code decode with the codec", () => {
  const b = new flatbuffers.Builder(256);
  const scores = Float32Array.from({ length: 10 }, (_, i) => (i + 1) / 55);
  const vec = InferenceOutput.createOutputFVector(b, scores);
  const out = InferenceOutput.createInferenceOutput(b, vec, 10, 0.5, 9, 0.125, 17, 3);
  const msg = b.createString("fine");
  Commands.startCommands(b);
  Commands.addCmd(b, GenCommand.CMD_INFERENCE_OUTPUT);
  Commands.addOutput(b, out);
  Commands.addRequestId(b, 31);
  Commands.addError(b, msg);
  b.finishSizePrefixed(Commands.endCommands(b), "MNST");
  const reply = decodeReply(b.asUint8Array().subarray(4));
  assert.ok(!(reply instanceof WireError));
  assert.equal(reply.requestId, 31);
  assert.deepEqual(reply.scores, scores);
  assert.equal(reply.predicted, 9);
  assert.equal(reply.inferenceMs, 0.5);
  assert.equal(reply.queueMs, 0.125);
  assert.equal(reply.batchSize, 17);
  assert.equal(reply.modelVersion, 3);
  assert.equal(reply.error, "fine");

  // A stats reply, and our own round trip of one.
  const sb = new flatbuffers.Builder(128);
  const name = sb.createString("m.onnx");
  const stats = StatsTable.createStats(sb, 2, 60, 0, 93322, 5, name, 4);
  Commands.startCommands(sb);
  Commands.addCmd(sb, GenCommand.CMD_GET_STATS);
  Commands.addStats(sb, stats);
  sb.finish(Commands.endCommands(sb));
  const decoded = decodeReply(sb.asUint8Array());
  assert.ok(!(decoded instanceof WireError));
  assert.deepEqual(decoded.stats, {
    version: 2,
    freq: 60,
    mode: 0,
    parameters: 93322,
    served: 5,
    model: "m.onnx",
    modelVersion: 4,
  });
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
