import assert from "node:assert/strict";
import { CidrList, parseCidrList, parseIp } from "./cidr.ts";

function list(text: string): CidrList {
  const parsed = parseCidrList(text);
  assert.ok(parsed instanceof CidrList, String(parsed));
  return parsed;
}

Deno.test("IPv4 blocks match the addresses inside them only", () => {
  const trusted = list("10.0.0.0/8, 192.168.1.7, 172.16.0.0/12");
  assert.ok(trusted.has("10.255.1.2"));
  assert.ok(trusted.has("192.168.1.7"));
  assert.ok(!trusted.has("192.168.1.8"));
  assert.ok(trusted.has("172.31.255.255"));
  assert.ok(!trusted.has("172.32.0.0"));
  assert.ok(!trusted.has("11.0.0.1"));
  assert.ok(trusted.has("::ffff:10.1.2.3"), "IPv4-mapped IPv6");
  assert.ok(!trusted.has("not an address"));
});

Deno.test("IPv6 blocks, :: forms and /0", () => {
  const trusted = list("fd00::/8,::1");
  assert.ok(trusted.has("fd12:3456::1"));
  assert.ok(trusted.has("::1"));
  assert.ok(!trusted.has("fe80::1"));
  assert.ok(!trusted.has("127.0.0.1"));
  assert.ok(list("0.0.0.0/0").has("8.8.8.8"));
  assert.ok(list("::ffff:0:0/96").has("1.2.3.4"), "a mapped block is an IPv4 block");
  assert.deepEqual(
    parseIp("1:2:3:4:5:6:7:8"),
    Uint8Array.of(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8),
  );
  assert.equal(parseIp("1::2::3"), null);
  assert.equal(parseIp("1:2:3:4:5:6:7:8:9"), null);
});

Deno.test("a bad block is a sentence, not an exception", () => {
  for (const bad of ["10.0.0.0/33", "300.1.1.1", "10.0.0.0/8/1", "fd00::/129", "10.0.0.0/x"]) {
    assert.equal(typeof parseCidrList(bad), "string", bad);
  }
  assert.equal(list("").size, 0);
});
