import assert from "node:assert/strict";
import { type DecodedRequest, decodeRequest } from "../shared/request_codec.ts";
import { InferenceRequestWriter } from "../shared/request_writer.ts";
import { requestTemplate } from "./request.ts";
import { MAX_RELEASE_ID } from "../shared/update_codec.ts";
import { TOKEN_LENGTH } from "../shared/codec.ts";

function headBytes(head: string): Uint8Array {
  return Uint8Array.from(atob(head), (c) => c.charCodeAt(0));
}

const CLIENT = "mnist-device 1.0.0+0a1b2c3d";

Deno.test("the template is InferenceRequestWriter's bytes up to the digit, in both protocols", () => {
  for (
    const [protocol, updates] of [["framed", false], ["framed", true], ["legacy", false]] as const
  ) {
    const framed = protocol === "framed";
    const t = requestTemplate(protocol, CLIENT, updates);
    const strings = framed
      ? { token: TOKEN_LENGTH, client: CLIENT, deviceInToken: true, updates }
      : undefined;
    const writer = new InferenceRequestWriter(framed, framed, strings);
    const oracle = writer.write(0, new Uint8Array(784));
    assert.equal(t.size, oracle.length);
    const head = headBytes(t.head);
    // The same bytes, but for the two optional fields, which the template leaves out.
    if (framed) {
      const dv = new DataView(oracle.buffer);
      assert.equal(t.tokenSlot, dv.getUint16(t.tokenSlotAt, true));
      assert.equal(t.clientSlot, dv.getUint16(t.clientSlotAt, true));
      assert.equal(t.deviceSlot, dv.getUint16(t.deviceSlotAt, true));
      assert.ok(t.tokenSlot > 0 && t.clientSlot > 0 && t.deviceSlot > 0);
      dv.setUint16(t.tokenSlotAt, 0, true);
      dv.setUint16(t.clientSlotAt, 0, true);
      dv.setUint16(t.deviceSlotAt, 0, true);
      // The update offsets point into the digit's place (see the update test below).
      const hv = new DataView(headBytes(t.head).buffer);
      for (const at of writer.updateFieldsAt) dv.setUint32(at, hv.getUint32(at, true), true);
      const u = t.update;
      assert.equal(!!u, updates);
      for (const at of u ? [u.errorSlotAt, u.updateSlotAt, u.chunkSlotAt] : []) {
        dv.setUint16(at, 0, true);
      }
    } else {
      assert.deepEqual([t.tokenAt, t.tokenSlotAt, t.clientSlotAt, t.deviceSlotAt], [
        -1,
        -1,
        -1,
        -1,
      ]);
    }
    assert.deepEqual(head, oracle.subarray(0, t.digitAt), protocol);
    // Everything after the head is the digit (zero here): nothing else to fill in.
    assert.equal(t.digitAt + 784 * (framed ? 1 : 4), t.size, protocol);
    assert.equal(t.idAt < 0, !framed);
  }
});

Deno.test("filled in place as the board does: id, token and client switched on and off", () => {
  const t = requestTemplate("framed", CLIENT);
  const req = new Uint8Array(t.size);
  req.set(headBytes(t.head));
  const token = "0123456789abcdef0123456789ABCDEF";
  const payload = () => req.subarray(4);
  for (let i = 0; i < 784; i++) req[t.digitAt + i] = i % 256;
  req[t.idAt] = 7;
  let decoded = decodeRequest(payload());
  assert.ok("command" in decoded);
  assert.deepEqual([decoded.requestId, decoded.token, decoded.client], [7, "", ""]);
  assert.deepEqual(Array.from(decoded.digitU8!.subarray(0, 3)), [0, 1, 2]);
  for (let i = 0; i < token.length; i++) req[t.tokenAt + i] = token.charCodeAt(i);
  req[t.tokenSlotAt] = t.tokenSlot;
  req[t.clientSlotAt] = t.clientSlot;
  decoded = decodeRequest(payload());
  assert.ok("command" in decoded);
  assert.deepEqual([decoded.token, decoded.client], [token, CLIENT]);
  req[t.clientSlotAt] = 0;
  decoded = decodeRequest(payload());
  assert.ok("command" in decoded);
  assert.deepEqual([decoded.token, decoded.client], [token, ""]);
  // Without a token: the serial, space-padded, in the token's characters, sent as `device`.
  const serial = "5ccf7f0a-1b2c";
  for (let i = 0; i < TOKEN_LENGTH; i++) req[t.tokenAt + i] = serial.charCodeAt(i) || 32;
  req[t.tokenSlotAt] = 0;
  req[t.clientSlotAt] = t.clientSlot;
  req[t.deviceSlotAt] = t.deviceSlot;
  decoded = decodeRequest(payload());
  assert.ok("command" in decoded);
  assert.deepEqual([decoded.token, decoded.client, decoded.device.trimEnd()], ["", CLIENT, serial]);
  // The frame's length prefix covers the whole buffer.
  assert.equal(new DataView(req.buffer).getUint32(0, true), t.size - 4);
});

Deno.test("framed requests carry the digit as 784 bytes, legacy ones as 784 floats", () => {
  const framed = requestTemplate("framed", CLIENT);
  const legacy = requestTemplate("legacy");
  assert.ok(framed.size < 1000, `${framed.size}`);
  assert.ok(legacy.size > 3136, `${legacy.size}`);
  assert.equal(framed.size - framed.digitAt, 784);
});

Deno.test("the update request the board writes over its buffer decodes as a chunk request and as a report", () => {
  const t = requestTemplate("framed", CLIENT, true);
  const u = t.update!;
  const req = new Uint8Array(t.size);
  req.set(headBytes(t.head));
  // As updater.ts and tcp_client.ts write it.
  const d = req.subarray(t.digitAt);
  d.fill(0);
  d.set(headBytes(u.head));
  const release = "mnist-device/1.0.1+" + "f".repeat(MAX_RELEASE_ID - 19);
  const put = (at: number, text: string) => {
    d[at] = text.length;
    for (let i = 0; i < text.length; i++) d[at + 4 + i] = text.charCodeAt(i);
  };
  put(u.releaseAt, release);
  put(u.errorAt, "CRC-32");
  d[u.stateAt] = 5;
  for (let i = 0; i < 4; i++) d[u.offsetAt + i] = 1536 >>> 8 * i;
  req[u.inputSlotAt] = 0;
  req[u.errorSlotAt] = u.errorSlot;
  req[u.updateSlotAt] = u.updateSlot;
  req[u.chunkSlotAt] = u.chunkSlot;
  const end = t.digitAt + u.end;
  req[0] = end - 4;
  req[1] = end - 4 >> 8;
  req[u.cmdAt] = 5;
  const report = decodeRequest(req.subarray(4, end)) as DecodedRequest;
  assert.deepEqual(report.update, { release, size: 1536, crc32: 0, mac: null, state: 5 });
  assert.equal(report.error, "CRC-32");
  req[u.cmdAt] = 4;
  const chunk = decodeRequest(req.subarray(4, end)) as DecodedRequest;
  assert.deepEqual(chunk.chunk, { release, offset: 1536, data: null, crc32: 0 });
});
