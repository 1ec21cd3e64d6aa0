// Headers written byte by byte from HAProxy's proxy-protocol.txt, section 2.2.
import assert from "node:assert/strict";
import { WireError } from "../../shared/errors.ts";
import { formatIpv6, parseProxyV2 } from "./proxy_v2.ts";

const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

Deno.test("PROXY TCP4 and TCP6 headers give the client's address and the header's length", () => {
  const v4 = Uint8Array.of(
    ...SIG,
    0x21,
    0x11,
    0,
    12,
    192,
    168,
    4,
    9,
    10,
    0,
    0,
    1,
    0xc3,
    0x50,
    0x7d,
    0x01,
  );
  assert.deepEqual(parseProxyV2(Uint8Array.of(...v4, 1, 2, 3)), {
    length: 28,
    source: { hostname: "192.168.4.9", port: 50000 },
  });
  const src6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
  const v6 = Uint8Array.of(
    ...SIG,
    0x21,
    0x21,
    0,
    36 + 5,
    ...src6,
    ...new Array(16).fill(0),
    0x30,
    0x39,
    0,
    80,
  );
  // Five bytes of TLV after the addresses are part of the header and skipped.
  assert.deepEqual(parseProxyV2(Uint8Array.of(...v6, 0x04, 0, 2, 0xaa, 0xbb)), {
    length: 16 + 41,
    source: { hostname: "2001:db8::7", port: 12345 },
  });
});

Deno.test("LOCAL and non-IP families carry no client address", () => {
  assert.deepEqual(parseProxyV2(Uint8Array.of(...SIG, 0x20, 0x00, 0, 0)), {
    length: 16,
    source: null,
  });
  const unix = Uint8Array.of(...SIG, 0x21, 0x31, 0, 216, ...new Array(216).fill(0));
  assert.deepEqual(parseProxyV2(unix), { length: 232, source: null });
});

Deno.test("partial, absent and malformed headers", () => {
  const v4 = Uint8Array.of(...SIG, 0x21, 0x11, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2);
  for (let cut = 0; cut < v4.length; cut++) {
    assert.equal(parseProxyV2(v4.subarray(0, cut)), null, `cut ${cut}`);
  }
  assert.equal(parseProxyV2(Uint8Array.of(12, 0, 0, 0, 8, 0, 0, 0, 77, 78, 83, 84)), "absent");
  assert.equal(parseProxyV2(Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0b)), "absent");
  for (
    const bad of [
      Uint8Array.of(...SIG, 0x11, 0x11, 0, 0), // version 1
      Uint8Array.of(...SIG, 0x22, 0x11, 0, 0), // command 2
      Uint8Array.of(...SIG, 0x21, 0x11, 0, 4, 1, 2, 3, 4), // too short for TCP4
      Uint8Array.of(...SIG, 0x21, 0x11, 0xff, 0xff), // too long
    ]
  ) {
    assert.ok(parseProxyV2(bad) instanceof WireError);
  }
});

Deno.test("IPv6 text is the shortest form", () => {
  const ip = (...groups: number[]) => Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
  assert.equal(formatIpv6(ip(0, 0, 0, 0, 0, 0, 0, 1)), "::1");
  assert.equal(formatIpv6(ip(0xfe80, 0, 0, 0, 1, 0, 0, 1)), "fe80::1:0:0:1");
  assert.equal(formatIpv6(ip(1, 2, 3, 4, 5, 6, 7, 8)), "1:2:3:4:5:6:7:8");
  assert.equal(formatIpv6(ip(1, 0, 2, 3, 4, 5, 6, 7)), "1:0:2:3:4:5:6:7");
  assert.equal(formatIpv6(ip(0, 0, 0, 0, 0, 0, 0, 0)), "::");
});
