import assert from "node:assert/strict";
import { addressOf, DeviceTable, RecentDigits } from "./devices.ts";

Deno.test("addresses lose their port, IPv6 keeps its colons", () => {
  assert.equal(addressOf("10.0.0.7:51234"), "10.0.0.7");
  assert.equal(addressOf("[::1]:8000"), "::1");
  assert.equal(addressOf("::1:8000"), "::1");
  assert.equal(addressOf("fe80::1"), "fe80::1");
  assert.equal(addressOf("10.0.0.7"), "10.0.0.7");
});

Deno.test("devices: counted per address or name, most recent first, silent ones flagged, capped", () => {
  let now = 1_000;
  const table = new DeviceTable({ silentAfterMs: 60_000, max: 3, now: () => now });
  table.seen({ peer: "10.0.0.1:1000", protocol: "legacy", ok: true });
  table.seen({ peer: "10.0.0.1:1001", protocol: "legacy", ok: false });
  now += 61_000;
  table.seen({ peer: "10.0.0.2:2000", protocol: "framed", client: "fw/1.0", ok: true });
  table.seen({ peer: "10.0.0.2:2000", protocol: "framed", ok: true });
  let rows = table.list();
  assert.equal(rows.length, 2);
  assert.deepEqual(
    rows.map((r) => [r.address, r.requests, r.errors, r.client, r.silent]),
    [["10.0.0.2", 2, 0, "fw/1.0", false], ["10.0.0.1", 2, 1, null, true]],
  );
  assert.equal(table.silentCount(), 1);
  // With tokens on, two boards behind one NAT address are two devices.
  table.seen({ peer: "10.0.0.9:1", protocol: "framed", device: "kitchen", ok: true });
  table.seen({ peer: "10.0.0.9:2", protocol: "framed", device: "garage", ok: true });
  rows = table.list();
  assert.equal(table.size, 3); // 10.0.0.1, the least recent, went past the cap
  assert.deepEqual(rows.map((r) => r.device ?? r.address), ["garage", "kitchen", "10.0.0.2"]);
});

Deno.test("recent digits: the last 16, bytes or clamped floats", () => {
  const digits = new RecentDigits(16);
  for (let i = 0; i < 20; i++) {
    digits.push(new Uint8Array(784).fill(i), null, i % 10, 0.5, "framed");
  }
  digits.push(null, new Float32Array(784).fill(2), 3, 0.9, "legacy");
  const list = digits.list();
  assert.equal(list.length, 16);
  assert.equal(atob(list[0].pixels).charCodeAt(0), 5);
  assert.equal(atob(list[15].pixels).charCodeAt(0), 255);
  assert.equal(list[15].predicted, 3);
});

Deno.test("a peer seen again and again keeps its row and address, past the table's size in peers", () => {
  const table = new DeviceTable({ max: 4 });
  for (let i = 0; i < 20; i++) {
    table.seen({ peer: `[fe80::1]:${5000 + i}`, protocol: "framed", ok: true });
    table.seen({ peer: "10.0.0.7:4000", protocol: "framed", ok: i % 2 === 0 });
  }
  const rows = table.list();
  assert.deepEqual(rows.map((r) => r.address).sort(), ["10.0.0.7", "fe80::1"]);
  const board = rows.find((r) => r.address === "10.0.0.7")!;
  assert.equal(board.requests, 20);
  assert.equal(board.errors, 10);
  assert.equal(rows.find((r) => r.address === "fe80::1")!.requests, 20);
});
