// The generated code on the official `flatbuffers` runtime is the oracle: bytes
// the lean codec writes must read back through it, and bytes it writes must
// decode with the lean codec, for every message kind.
import assert from "node:assert/strict";
import * as flatbuffers from "flatbuffers";
import { Commands } from "./generated/mnist-prot/commands.ts";
import { Command as GenCommand } from "./generated/mnist-prot/command.ts";
import { decodeRequest } from "./request_codec.ts";
import { InferenceRequestWriter } from "./request_writer.ts";
import { WireError } from "./errors.ts";

function digitBytes(seed: number): Uint8Array {
  return Uint8Array.from({ length: 784 }, (_, i) => (i * 31 + seed * 7) & 0xff);
}

function oracleRoot(bytes: Uint8Array, framed: boolean): Commands {
  const bb = new flatbuffers.ByteBuffer(bytes);
  return framed ? Commands.getSizePrefixedRootAsCommands(bb) : Commands.getRootAsCommands(bb);
}

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
