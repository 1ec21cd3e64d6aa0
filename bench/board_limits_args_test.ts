import assert from "node:assert/strict";
import { UsageError } from "../cli/args.ts";
import { parseSets, SET_KEYS } from "./board_limits_args.ts";

Deno.test("--set takes the server's numeric options by their ServerOptions names", () => {
  assert.deepEqual(parseSets([]), {});
  assert.deepEqual(
    parseSets(["instances=1", "batchMs=0", "maxConnectionsPerAddress=4096", "shadowSample=0.5"]),
    { instances: 1, batchMs: 0, maxConnectionsPerAddress: 4096, shadowSample: 0.5 },
  );
  // What the scenarios set themselves is a key like any other.
  for (const key of ["messageTimeoutMs", "httpPort", "httpBodyTimeoutMs", "threads"]) {
    assert.ok(SET_KEYS.has(key), key);
  }
});

Deno.test("an unknown key, a missing or bad value: one sentence naming the keys it takes", () => {
  const keys = [...SET_KEYS.keys()].join(", ");
  assert.throws(
    () => parseSets(["foo=1"]),
    new UsageError(`--set foo: no such server option; it takes ${keys}`),
  );
  assert.throws(
    () => parseSets(["max-batch=8"]),
    new UsageError(`--set max-batch: no such server option; it takes ${keys}`),
  );
  assert.throws(
    () => parseSets(["instances"]),
    new UsageError('--set takes KEY=NUMBER, not "instances"'),
  );
  assert.throws(() => parseSets(["=1"]), new UsageError('--set takes KEY=NUMBER, not "=1"'));
  assert.throws(
    () => parseSets(["batchMs=-1"]),
    new UsageError('--set batchMs takes a whole number 0 to 10000, not "-1"'),
  );
  assert.throws(
    () => parseSets(["maxBatch=1.5"]),
    new UsageError('--set maxBatch takes a whole number 1 to 4096, not "1.5"'),
  );
  assert.throws(
    () => parseSets(["shadowSample=2"]),
    new UsageError('--set shadowSample takes a number 0 to 1, not "2"'),
  );
});

Deno.test("deno task bench:limits drip --set foo=1: one line, exit 2, no scenario run", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "bench:limits", "drip", "--set", "foo=1"],
    cwd: new URL("..", import.meta.url).pathname,
  }).output();
  const text = new TextDecoder().decode(stderr);
  assert.equal(code, 2, text);
  assert.match(
    text,
    /^bench:limits: --set foo: no such server option; it takes instances, .*batchMs, .* \(deno task bench:limits --help\)\n$/,
  );
  assert.equal(new TextDecoder().decode(stdout), "");
  // A scenario that is not there is refused before the first one runs, too.
  const late = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "bench:limits", "drip", "nosuch"],
    cwd: new URL("..", import.meta.url).pathname,
  }).output();
  assert.equal(late.code, 2);
  assert.equal(new TextDecoder().decode(late.stdout), "");
  assert.match(new TextDecoder().decode(late.stderr), /^bench:limits: no scenario "nosuch"; /);
});
