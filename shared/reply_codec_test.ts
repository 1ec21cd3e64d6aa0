// The generated code on the official `flatbuffers` runtime is the oracle: bytes
// the lean codec writes must read back through it, and bytes it writes must
// decode with the lean codec, for every message kind.
import assert from "node:assert/strict";
import * as flatbuffers from "flatbuffers";
import { Commands } from "./generated/mnist-prot/commands.ts";
import { InferenceOutput } from "./generated/mnist-prot/inference-output.ts";
import { Stats as StatsTable } from "./generated/mnist-prot/stats.ts";
import { Command as GenCommand } from "./generated/mnist-prot/command.ts";
import { Command, LEGACY_REPLY_LENGTH } from "./codec.ts";
import { decodeReply, encodeLegacyReply, encodeReply } from "./reply_codec.ts";
import { Status, WireError } from "./errors.ts";

function oracleRoot(bytes: Uint8Array, framed: boolean): Commands {
  const bb = new flatbuffers.ByteBuffer(bytes);
  return framed ? Commands.getSizePrefixedRootAsCommands(bb) : Commands.getRootAsCommands(bb);
}

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
