import assert from "node:assert/strict";
import { crc32 as zlibCrc32 } from "node:zlib";
import { crc32 } from "./crc32.ts";

Deno.test("crc32 agrees with zlib's on the check value, empty input and random bytes", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  const bytes = Uint8Array.from({ length: 4099 }, (_, i) => (i * 7919 + 13) & 0xff);
  assert.equal(crc32(bytes), zlibCrc32(bytes));
  assert.equal(crc32(bytes.subarray(0, 512)), zlibCrc32(bytes.subarray(0, 512)));
});
