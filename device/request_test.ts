import assert from "node:assert/strict";
import { InferenceRequestWriter } from "../shared/codec.ts";
import { requestTemplate } from "./request.ts";

function headBytes(head: string): Uint8Array {
  return Uint8Array.from(atob(head), (c) => c.charCodeAt(0));
}

Deno.test("the template is InferenceRequestWriter's bytes up to the digit, in both protocols", () => {
  for (const protocol of ["framed", "legacy"] as const) {
    const framed = protocol === "framed";
    const t = requestTemplate(protocol);
    const oracle = new InferenceRequestWriter(framed, framed).write(0, new Uint8Array(784));
    assert.equal(t.size, oracle.length);
    assert.deepEqual(headBytes(t.head), oracle.subarray(0, t.digitAt), protocol);
    // Everything after the head is the digit (zero here): nothing else to fill in.
    assert.equal(t.digitAt + 784 * (framed ? 1 : 4), t.size, protocol);
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
