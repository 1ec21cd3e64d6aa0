// The update tables against the generated code on the official runtime, both
// ways, and an old board's reply reader on a reply that carries an offer.
import assert from "node:assert/strict";
import * as flatbuffers from "flatbuffers";
import { Commands } from "./generated/mnist-prot/commands.ts";
import { CodeChunk as GenChunk } from "./generated/mnist-prot/code-chunk.ts";
import { UpdateOffer as GenOffer } from "./generated/mnist-prot/update-offer.ts";
import { readReply } from "./board_reply.ts";
import { Command } from "./codec.ts";
import { decodeReply, encodeReply } from "./reply_codec.ts";
import { decodeRequest, encodeRequest } from "./request_codec.ts";
import { UpdateState } from "./update_codec.ts";
import { Status, STATUS_NAMES, statusName, WireError } from "./errors.ts";

function oracle(frame: Uint8Array): Commands {
  return Commands.getSizePrefixedRootAsCommands(new flatbuffers.ByteBuffer(frame));
}

Deno.test("an inference reply with an offer reads back through the generated code and an old board's reader", () => {
  const mac = Uint8Array.from({ length: 20 }, (_, i) => i * 11);
  const scores = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
  const frame = encodeReply({
    command: Command.INFERENCE_OUTPUT,
    requestId: 12,
    scores,
    inferenceMs: 1.5,
    update: { release: "mnist-framed/2.1.0", size: 6000, crc32: 0xdeadbeef, mac },
  }, true);
  const offer = oracle(frame).update()!;
  assert.equal(offer.release(), "mnist-framed/2.1.0");
  assert.equal(offer.size(), 6000);
  assert.equal(offer.crc32(), 0xdeadbeef);
  assert.deepEqual(offer.macArray(), mac);
  assert.equal(offer.state(), UpdateState.NONE);

  const decoded = decodeReply(frame.subarray(4));
  assert.ok(!(decoded instanceof WireError));
  assert.equal(decoded.update!.release, "mnist-framed/2.1.0");
  assert.equal(decoded.update!.crc32, 0xdeadbeef);
  assert.deepEqual(Array.from(decoded.update!.mac!), Array.from(mac));
  assert.deepEqual(Array.from(decoded.scores!), scores);

  // The board's reader reads its scores, and the offer beside them.
  const out = new Float32Array(10);
  assert.deepEqual(readReply(frame.subarray(4), out), {
    id: 12,
    status: 0,
    error: "",
    ms: 1.5,
    cmd: Command.INFERENCE_OUTPUT,
    offer: ["mnist-framed/2.1.0", 6000, 0xdeadbeef, String.fromCharCode(...mac)],
  });
  assert.equal(out[3], 1);
});

Deno.test("a chunk request and its reply round-trip through the generated code", () => {
  const request = encodeRequest({
    command: Command.CODE_CHUNK,
    requestId: 4,
    token: "t".repeat(32),
    chunk: { release: "mnist-framed/2", offset: 1024 },
  }, true);
  const root = oracle(request);
  assert.equal(root.cmd(), Command.CODE_CHUNK);
  assert.equal(root.chunk()!.release(), "mnist-framed/2");
  assert.equal(root.chunk()!.offset(), 1024);
  const decoded = decodeRequest(request.subarray(4));
  assert.ok(!(decoded instanceof WireError));
  assert.deepEqual(decoded.chunk, {
    release: "mnist-framed/2",
    offset: 1024,
    data: null,
    crc32: 0,
  });

  // The reply, written by the official builder, decodes with the lean codec.
  const b = new flatbuffers.Builder(64);
  const release = b.createString("mnist-framed/2");
  const data = GenChunk.createDataVector(b, [7, 8, 9]);
  GenChunk.startCodeChunk(b);
  GenChunk.addRelease(b, release);
  GenChunk.addOffset(b, 1024);
  GenChunk.addData(b, data);
  GenChunk.addCrc32(b, 0);
  const chunk = GenChunk.endCodeChunk(b);
  Commands.startCommands(b);
  Commands.addCmd(b, Command.CODE_CHUNK);
  Commands.addRequestId(b, 4);
  Commands.addChunk(b, chunk);
  b.finish(Commands.endCommands(b));
  const reply = decodeReply(b.asUint8Array());
  assert.ok(!(reply instanceof WireError));
  assert.equal(reply.command, Command.CODE_CHUNK);
  assert.deepEqual(Array.from(reply.chunk!.data!), [7, 8, 9]);
  assert.equal(reply.chunk!.offset, 1024);
});

Deno.test("a report carries its state and reason; one without an update is BAD_UPDATE", () => {
  const b = new flatbuffers.Builder(64);
  const release = b.createString("mnist-framed/2");
  const reason = b.createString("crc mismatch");
  GenOffer.startUpdateOffer(b);
  GenOffer.addRelease(b, release);
  GenOffer.addState(b, UpdateState.FAILED);
  const offer = GenOffer.endUpdateOffer(b);
  Commands.startCommands(b);
  Commands.addCmd(b, Command.UPDATE_REPORT);
  Commands.addRequestId(b, 5);
  Commands.addError(b, reason);
  Commands.addUpdate(b, offer);
  b.finish(Commands.endCommands(b));
  const report = decodeRequest(b.asUint8Array());
  assert.ok(!(report instanceof WireError));
  assert.equal(report.update!.release, "mnist-framed/2");
  assert.equal(report.update!.state, UpdateState.FAILED);
  assert.equal(report.error, "crc mismatch");

  // The lean codec writes the same report.
  const lean = decodeRequest(
    encodeRequest({
      command: Command.UPDATE_REPORT,
      requestId: 5,
      error: "crc mismatch",
      update: { release: "mnist-framed/2", state: UpdateState.FAILED },
    }, true).subarray(4),
  );
  assert.deepEqual(lean, report);

  const bare = decodeRequest(encodeRequest({ command: Command.UPDATE_REPORT }, true).subarray(4));
  assert.ok(bare instanceof WireError);
  assert.equal(bare.code, "BAD_UPDATE");
  const noChunk = decodeRequest(encodeRequest({ command: Command.CODE_CHUNK }, true).subarray(4));
  assert.ok(noChunk instanceof WireError && noChunk.code === "BAD_UPDATE");
});

Deno.test("the update statuses have names on the server", () => {
  assert.equal(statusName(Status.UPDATE_UNAVAILABLE), "UPDATE_UNAVAILABLE");
  assert.equal(statusName(Status.BAD_UPDATE), "BAD_UPDATE");
  assert.equal(STATUS_NAMES.length, Object.keys(Status).length);
});
