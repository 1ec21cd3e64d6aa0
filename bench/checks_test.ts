import assert from "node:assert/strict";
import { fakeResult } from "./_fixtures.ts";
import { formatChecks, stepChecks } from "./checks.ts";
import { summarizeStep } from "./results.ts";

const load = {
  clients: 500,
  requests: 4,
  protocol: "framed" as const,
  digits: "u8" as const,
  keepAlive: true,
  garbage: false,
};

/** A step of `n` replies of `latency` ms, one started each ms. */
function step(protocol: "framed" | "http", n: number, latency: (i: number) => number) {
  return summarizeStep(fakeResult(Array.from({ length: n }, (_, i) => latency(i))), {
    ...load,
    protocol,
  });
}

Deno.test("--check: http under 0.8 of framed, a failed request and p99/p50 over 2 each miss", () => {
  const framed = step("framed", 3000, () => 10);
  const slowHttp = step("http", 3000, (i) => i < 2900 ? 10 : 1500);
  const checks = stepChecks([framed, slowHttp], { baselineUs: null, fresh: false });
  const byName = new Map(checks.map((c) => [c.name, c]));
  assert.ok(byName.get("framed, 500 clients: failed requests")!.ok);
  assert.ok(byName.get("framed, 500 clients: p99/p50 latency")!.ok);
  assert.equal(byName.get("http, 500 clients: p99/p50 latency")!.ok, false);
  const ratio = byName.get("http / framed req/s at 500 clients")!;
  assert.ok(ratio.value < 0.8 && !ratio.ok, JSON.stringify(ratio));
  assert.match(formatChecks(checks).at(-1)!, /2 of \d+ checks missed/);
});

Deno.test("--check: a fresh server's first second against its steady rate", () => {
  // 3 s of replies, one a ms, but the first second's replies take 500 ms longer: a cold start.
  const cold = step("framed", 3000, (i) => i < 1000 ? 500 : 10);
  const warm = step("framed", 3000, () => 10);
  const coldCheck = stepChecks([cold], { baselineUs: null, fresh: true }).at(-1)!;
  const warmCheck = stepChecks([warm], { baselineUs: null, fresh: true }).at(-1)!;
  assert.match(coldCheck.name, /first second/);
  assert.equal(coldCheck.ok, false);
  assert.ok(warmCheck.ok, JSON.stringify(warmCheck));
  assert.ok(
    !stepChecks([cold], { baselineUs: null, fresh: false }).some((c) => /first/.test(c.name)),
  );
});
