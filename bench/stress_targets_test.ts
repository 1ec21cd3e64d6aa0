import assert from "node:assert/strict";
import { parseStressArgs } from "./stress_args.ts";
import { formatTargets, targetSteps, withExpected } from "./stress_targets.ts";
import { autoInstances, autoThreads } from "../server/config.ts";

Deno.test("--targets runs each target on the step it is defined on, native where the target says", () => {
  const steps = targetSteps(parseStressArgs(["--targets", "--workers", "2", "-q"]));
  const find = (words: string) => steps.find((s) => s.label.includes(words))!.options;

  const loop = find("served / engine alone");
  assert.deepEqual(
    [loop.protocols, loop.clients, loop.keepAlive, loop.serverEngine, loop.compareInference],
    [["framed"], 500, true, "native", true],
  );
  assert.equal(find("2 listener Workers").serverListeners, 2);
  assert.deepEqual(find("HTTP JSON").protocols, ["framed", "http", "http-binary"]);
  assert.equal(find("HTTP JSON").clients, 100);
  assert.deepEqual(
    steps.filter((s) => s.options.clients === 1).map((
      s,
    ) => [s.options.serverEngine, s.options.warmup]),
    [[null, 20_000], ["native", 20_000]],
  );
  const fresh = find("a fresh server");
  assert.deepEqual([fresh.protocols, fresh.warmup], [["framed", "framed"], 0]);
  // 150,000 requests: past 2 s, which a first second needs, up to 75,000 req/s.
  assert.ok(fresh.clients * fresh.requests >= 150_000);
  assert.deepEqual(steps.find((s) => s.label.includes("a fresh server"))!.expects, [
    "a fresh server's first second",
  ]);
  const legacy = find("legacy");
  assert.deepEqual([legacy.protocol, legacy.digits, legacy.keepAlive], ["legacy", "float", false]);
  // The command line's own settings carry over; each step's server gets its engine's threads.
  for (const { options } of steps) {
    assert.equal(options.workers, 2);
    assert.equal(options.quiet, true);
    assert.equal(options.protocol, options.protocols[0]);
    const engine = options.serverEngine ?? "wasm";
    assert.equal(options.serverThreads, autoThreads(engine, autoInstances(engine)));
  }
  assert.equal(steps.filter((s) => s.options.serverListeners !== 1).length, 1);
  assert.equal(steps.filter((s) => s.options.compareInference).length, 1);
});

Deno.test("--targets refuses the flags its steps set, naming them", () => {
  assert.throws(
    () => parseStressArgs(["--targets", "--clients", "3", "--protocol", "http"]),
    /--targets starts a server for each target's own step: leave out --protocol, --clients/,
  );
  assert.throws(
    () => parseStressArgs(["--targets", "--server", "127.0.0.1:4000"]),
    /leave out --server/,
  );
  assert.doesNotThrow(() =>
    parseStressArgs(["--targets", "--check", "--server-main", "server/main.ts"])
  );
});

Deno.test("the summary lists every step's checks and counts the misses", () => {
  const lines = formatTargets([
    { label: "a", checks: [{ name: "x", value: 1.23456, target: "<= 2", ok: true }] },
    { label: "b", checks: [{ name: "y", value: 0.5, target: ">= 0.8", ok: false }] },
  ]);
  assert.deepEqual(lines.slice(2), [
    "  a",
    "    ok   x: 1.235 (target <= 2)",
    "  b",
    "    MISS y: 0.5 (target >= 0.8)",
    "1 of 2 checks missed",
  ]);
});

Deno.test("a check a step is run for but could not measure is a miss, not left out", () => {
  const measured = {
    name: "framed: a fresh server's first second / x",
    value: 1,
    target: ">= 0.95",
    ok: true,
  };
  assert.deepEqual(withExpected([measured], ["a fresh server's first second"]), [measured]);
  const [missing] = withExpected([], ["a fresh server's first second"]);
  assert.equal(missing.ok, false);
  assert.match(missing.name, /^a fresh server's first second: not measured/);
  assert.match(
    formatTargets([{ label: "fresh", checks: [missing] }]).at(-1)!,
    /1 of 1 checks missed/,
  );
});
