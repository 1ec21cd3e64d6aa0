import assert from "node:assert/strict";
import { packedSampleDigits, SAMPLE_INDICES, sampleDigits } from "./sample_digits.ts";
import { countSamples, packSamples, samplesBytes, unpackSample } from "./samples.ts";

Deno.test("packed digits come back as the same black-and-white pixels", () => {
  const digits = sampleDigits();
  const bytes = samplesBytes(packSamples(digits));
  assert.equal(countSamples(bytes), digits.length);
  const into = new Uint8Array(784);
  digits.forEach((digit, k) => {
    assert.equal(unpackSample(bytes, k, into), digit.label);
    for (let p = 0; p < 784; p++) {
      assert.equal(into[p], digit.pixels[p] >= 128 ? 255 : 0, `digit ${k} pixel ${p}`);
    }
  });
});

Deno.test("the bundled digits: one per class, 0..9 in order, small", () => {
  assert.equal(SAMPLE_INDICES.length, 10);
  const packed = packedSampleDigits();
  const bytes = samplesBytes(packed);
  const into = new Uint8Array(784);
  for (let k = 0; k < 10; k++) assert.equal(unpackSample(bytes, k, into), k);
  assert.ok(packed.length < 400, `${packed.length} base64 characters`);
  assert.match(packed, /^[A-Za-z0-9+/]+=*$/); // no escapes in the firmware's string literal
});

Deno.test("edge digits: blank, and ink in the corners", () => {
  const blank = new Uint8Array(784);
  const corners = new Uint8Array(784);
  corners[0] =
    corners[27] =
    corners[756] =
    corners[783] =
      200;
  const bytes = samplesBytes(packSamples([{ pixels: blank, label: 3 }, {
    pixels: corners,
    label: 4,
  }]));
  const into = new Uint8Array(784).fill(7);
  assert.equal(unpackSample(bytes, 0, into), 3);
  assert.ok(into.every((v) => v === 0));
  assert.equal(unpackSample(bytes, 1, into), 4);
  assert.deepEqual([into[0], into[27], into[756], into[783], into[1], into[400]], [
    255,
    255,
    255,
    255,
    0,
    0,
  ]);
});
