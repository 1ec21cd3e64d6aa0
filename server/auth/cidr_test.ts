import assert from "node:assert/strict";
import { AddressRanges } from "./cidr.ts";

function parse(text: string): AddressRanges {
  const ranges = AddressRanges.parse(text);
  if (ranges instanceof Error) throw ranges;
  return ranges;
}

Deno.test("IPv4 ranges match the addresses inside them and no others", () => {
  const ranges = parse("10.0.0.0/8,192.168.1.0/24");
  assert.ok(ranges.has("10.0.0.1"));
  assert.ok(ranges.has("10.255.255.255"));
  assert.ok(ranges.has("192.168.1.77"));
  assert.ok(!ranges.has("11.0.0.1"));
  assert.ok(!ranges.has("192.168.2.1"));
});

Deno.test("IPv6 ranges, single addresses and IPv4-mapped IPv6 addresses", () => {
  const ranges = parse(" fd00::/8 , ::1, 127.0.0.1 ,");
  assert.deepEqual(ranges.ranges, ["fd00::/8", "::1/128", "127.0.0.1/32"]);
  assert.ok(ranges.has("fd12:3456::1"));
  assert.ok(!ranges.has("fe80::1"));
  assert.ok(ranges.has("::1"));
  assert.ok(!ranges.has("::2"));
  assert.ok(ranges.has("127.0.0.1"));
  assert.ok(!ranges.has("127.0.0.2"));
  // How a dual-stack listener reports an IPv4 peer.
  assert.ok(ranges.has("::ffff:127.0.0.1"));
  assert.ok(ranges.has("fd00::1%eth0"));
});

Deno.test("prefix 0 matches every address of its family", () => {
  const ranges = parse("0.0.0.0/0");
  assert.ok(ranges.has("1.2.3.4"));
  assert.ok(ranges.has("255.255.255.255"));
  assert.ok(!ranges.has("not an address"));
});

Deno.test("bad entries are refused with a sentence naming them", () => {
  for (
    const [text, phrase] of [
      ["10.0.0.0/33", '"10.0.0.0/33": the prefix length must be 0..32'],
      ["fd00::/129", '"fd00::/129": the prefix length must be 0..128'],
      ["10.0.0.0/x", '"10.0.0.0/x": the prefix length must be 0..32'],
      ["10.0.0.0/-1", '"10.0.0.0/-1": the prefix length'],
      ["10.0.0.300/8", '"10.0.0.300/8" is not an IPv4 or IPv6 address or CIDR'],
      ["10.0.0.0/8,example.com", '"example.com" is not an IPv4 or IPv6 address'],
    ]
  ) {
    const result = AddressRanges.parse(text);
    assert.ok(result instanceof Error, text);
    assert.ok(result.message.startsWith(phrase), `${text}: ${result.message}`);
  }
});

Deno.test("an empty list matches nothing", () => {
  assert.equal(parse("").size, 0);
  assert.ok(!AddressRanges.empty().has("127.0.0.1"));
});
