import assert from "node:assert/strict";
import { addressOf, DeviceRegistry } from "./registry.ts";
import { sighting } from "../testing/sighting.ts";

Deno.test("addresses lose their port, IPv6 keeps its colons", () => {
  assert.equal(addressOf("10.0.0.7:51234"), "10.0.0.7");
  assert.equal(addressOf("[::1]:8000"), "::1");
  assert.equal(addressOf("::1:8000"), "::1");
  assert.equal(addressOf("fe80::1"), "fe80::1");
  assert.equal(addressOf("10.0.0.7"), "10.0.0.7");
});

Deno.test("registry: per device figures, most recent first, filtered by state and firmware", () => {
  let now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const fleet = new DeviceRegistry({
    silentAfterMs: 60_000,
    forgetAfterMs: 3_600_000,
    now: () => now,
  });
  fleet.record(sighting("a", { firmware: "mnist-board/1.2", totalMs: 2, modelVersion: 3 }));
  fleet.record(sighting("a", { code: "SERVER_BUSY", predicted: null, score: null, totalMs: 50 }));
  fleet.record(sighting("a", { code: "SERVER_BUSY", predicted: null, score: null, totalMs: 4 }));
  now += 61_000;
  fleet.record(sighting("b", { peer: "[::1]:9", protocol: "legacy", by: "address" }));
  const [b, a] = fleet.list();
  assert.equal(b.id, "b");
  assert.equal(b.state, "online");
  assert.equal(b.address, "::1");
  assert.equal(b.identified_by, "address");
  assert.equal(a.state, "silent");
  assert.equal(a.firmware, "mnist-board/1.2", "kept from the first request");
  assert.equal(a.model_version, 3);
  assert.equal(a.requests, 3);
  assert.equal(a.errors, 2);
  assert.deepEqual(a.errors_by_code, { SERVER_BUSY: 2 });
  assert.equal(a.latency_p50_ms, 4);
  assert.equal(a.latency_p99_ms, 50);
  assert.equal(a.last_digit, 7);
  assert.equal(a.last_score, 0.9);
  assert.equal(a.requests_per_minute.length, 60);
  assert.equal(a.requests_per_minute.at(-2), 3, "a minute ago");
  assert.equal(a.requests_per_minute.at(-1), 0);
  assert.deepEqual(fleet.list({ state: "silent" }).map((d) => d.id), ["a"]);
  assert.deepEqual(fleet.list({ firmware: "1.2" }).map((d) => d.id), ["a"]);
  assert.deepEqual(fleet.list({ firmware: "mnist-board/1.2" }).map((d) => d.id), ["a"]);
  assert.deepEqual(fleet.counts(), { online: 1, silent: 1 });
  assert.equal(fleet.get("nobody"), null);
});

Deno.test("registry: quiet devices are forgotten; the sparkline drops minutes over an hour old", () => {
  let now = 0;
  const fleet = new DeviceRegistry({ silentAfterMs: 10, forgetAfterMs: 100, now: () => now });
  fleet.record(sighting("old"));
  now = 50;
  fleet.record(sighting("new"));
  now = 120;
  assert.equal(fleet.get("old"), null, "quiet for 120 ms of 100");
  assert.equal(fleet.get("new")?.state, "silent");
  fleet.record(sighting("new"));
  assert.deepEqual(fleet.list().map((d) => d.id), ["new"]);
  assert.equal(fleet.size, 1, "swept, not only hidden");
  now += 61 * 60_000;
  const hourly = new DeviceRegistry({ silentAfterMs: 10, forgetAfterMs: 1e9, now: () => now });
  hourly.record(sighting("x"));
  now += 60 * 60_000;
  assert.equal(hourly.get("x")!.requests_per_minute.reduce((a, b) => a + b), 0);
  hourly.record(sighting("x"));
  assert.equal(hourly.get("x")!.requests_per_minute.reduce((a, b) => a + b), 1);
});

Deno.test("registry: past its cap, the devices heard from least recently go", () => {
  let now = 0;
  const fleet = new DeviceRegistry({
    silentAfterMs: 10,
    forgetAfterMs: 1e9,
    maxDevices: 100,
    now: () => now,
  });
  for (let i = 0; i < 150; i++) {
    now++;
    fleet.record(sighting(`d${i}`));
  }
  assert.ok(fleet.size <= 100);
  assert.ok(fleet.get("d149") && !fleet.get("d0"));
});

Deno.test("registry: pages hold the whole list in its order, a page of views at a time; list takes a limit", () => {
  let now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const fleet = new DeviceRegistry({
    silentAfterMs: 60_000,
    forgetAfterMs: 3_600_000,
    now: () => now,
  });
  for (let i = 0; i < 1_200; i++) {
    fleet.record(sighting(`board-${i}`));
    now += 10;
  }
  const pages = [...fleet.window({}, { size: 500 }).pages];
  assert.deepEqual(pages.map((page) => page.length), [500, 500, 200]);
  assert.deepEqual(pages.flat().map((d) => d.id), fleet.list().map((d) => d.id));
  assert.equal(pages[0][0].id, "board-1199", "most recently seen first");
  assert.deepEqual(fleet.list({}, 3).map((d) => d.id), ["board-1199", "board-1198", "board-1197"]);
  assert.deepEqual([...fleet.window({ state: "silent" }).pages], []);
  const middle = fleet.window({}, { offset: 499, limit: 3, size: 2 });
  assert.equal(middle.total, 1_200);
  assert.deepEqual([...middle.pages].map((page) => page.map((d) => d.id)), [
    ["board-700", "board-699"],
    ["board-698"],
  ]);
  assert.deepEqual([...fleet.window({}, { offset: 1_200 }).pages], []);
});

Deno.test("registry: a minute past 65,535 requests (an address many clients share) is counted whole", () => {
  let now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const fleet = new DeviceRegistry({ silentAfterMs: 60_000, forgetAfterMs: 1e9, now: () => now });
  const legacy = sighting("addr:10.0.0.9", { by: "address", protocol: "legacy" });
  for (let i = 0; i < 70_000; i++) fleet.record(legacy);
  now += 60_000;
  for (let i = 0; i < 3; i++) fleet.record(legacy);
  const perMinute = fleet.get("addr:10.0.0.9")!.requests_per_minute;
  assert.deepEqual(perMinute.slice(-2), [70_000, 3], "16 bits a minute wrapped 70,000 to 4,464");
});
