import assert from "node:assert/strict";
import { InferenceRequestWriter } from "../shared/codec.ts";
import { fillRequest, makeRequest, requestTemplate } from "./request.ts";

function headBytes(head: string): Uint8Array {
  return Uint8Array.from(atob(head), (c) => c.charCodeAt(0));
}

Deno.test("the board's request is InferenceRequestWriter's, byte for byte, in both protocols", () => {
  for (const protocol of ["framed", "legacy"] as const) {
    const framed = protocol === "framed";
    const t = requestTemplate(protocol);
    const bytes = makeRequest(t.size, headBytes(t.head));
    const oracle = new InferenceRequestWriter(framed, framed);
    for (const id of [1, 2, 0xdeadbeef, 7]) {
      const pixels = Uint8Array.from({ length: 784 }, (_, i) => (i * 31 + id) & 255);
      fillRequest(bytes, t.digitAt, t.idAt, id, pixels);
      assert.deepEqual(bytes, oracle.write(id, pixels), `${protocol} id ${id}`);
    }
    assert.equal(t.idAt < 0, !framed);
  }
});

Deno.test("framed requests carry the digit as 784 bytes, legacy ones as 784 floats", () => {
  const framed = requestTemplate("framed");
  const legacy = requestTemplate("legacy");
  assert.ok(framed.size < 900, `${framed.size}`);
  assert.ok(legacy.size > 3136, `${legacy.size}`);
  assert.equal(framed.size - framed.digitAt >= 784, true);
});
