import assert from "node:assert/strict";
import {
  choiceFlag,
  count,
  duration,
  formatTable,
  intFlag,
  listFlag,
  numberFlag,
  progressText,
  thousands,
  v8FlagsFlag,
} from "./_cli.ts";
import { UsageError } from "../cli/args.ts";

Deno.test("numeric flags take their fallback when absent and refuse bad values", () => {
  assert.equal(intFlag("runs", undefined, 7), 7);
  assert.equal(intFlag("runs", "12", 7, { min: 1 }), 12);
  assert.throws(() => intFlag("runs", "1.5", 7), UsageError);
  assert.throws(() => intFlag("runs", "", 7), UsageError);
  assert.throws(() => intFlag("runs", "0", 7, { min: 1 }), /--runs must be ≥ 1/);
  assert.throws(() => intFlag("runs", "11", 7, { max: 10 }), /--runs must be ≤ 10/);
  assert.equal(numberFlag("duration", "0.5", 1), 0.5);
  assert.throws(() => numberFlag("duration", "soon", 1), UsageError);
});

Deno.test("list and choice flags", () => {
  assert.deepEqual(listFlag("sweep", "1, 10,100,", [5]), [1, 10, 100]);
  assert.deepEqual(listFlag("sweep", undefined, [5]), [5]);
  assert.throws(() => listFlag("sweep", "1,x", []), UsageError);
  assert.throws(() => listFlag("sweep", ",", []), /at least one/);
  assert.equal(choiceFlag("protocol", "framed", ["legacy", "framed"], "legacy"), "framed");
  assert.throws(() => choiceFlag("protocol", "http", ["legacy", "framed"], "legacy"), UsageError);
});

Deno.test("formatTable pads columns and right-aligns numbers", () => {
  const text = formatTable(["name", "ms"], [["a", "1.5"], ["longer", "12,345"], ["c", "—"]]);
  assert.equal(
    text,
    ["name        ms", "------  ------", "a          1.5", "longer  12,345", "c            —"].join(
      "\n",
    ),
  );
  assert.equal(thousands(31228), "31,228");
  assert.equal(thousands(NaN), "-");
});

Deno.test("counts: '1 client', '2 clients'; progress: done, share, rate, what is left", () => {
  assert.equal(count(1, "client"), "1 client");
  assert.equal(count(1000, "client"), "1,000 clients");
  assert.equal(count(0, "request"), "0 requests");
  assert.equal(progressText(0, 10000, 0), "0/10,000 requests (0%)");
  // 2,500 done in 5 s: 500/s, so 7,500 left is 15 s.
  assert.equal(
    progressText(2500, 10000, 5),
    "2,500/10,000 requests (25%), 500 req/s, about 15 s left",
  );
  // A --duration of 8 s ends the step first.
  assert.equal(
    progressText(2500, 10000, 5, 8),
    "2,500/10,000 requests (25%), 500 req/s, about 3 s left",
  );
  assert.equal(
    progressText(100, 100000, 1),
    "100/100,000 requests (0%), 100 req/s, about 16 min 39 s left",
  );
  assert.equal(duration(3 * 3600 + 60 * 5), "3 h 5 min");
});

Deno.test("V8 flags for a started server: a list, none, or the launchers' default", () => {
  assert.equal(v8FlagsFlag("v8-flags", undefined), undefined);
  assert.deepEqual(v8FlagsFlag("v8-flags", "none"), []);
  assert.deepEqual(v8FlagsFlag("v8-flags", "--a=1, --b"), ["--a=1", "--b"]);
  assert.throws(() => v8FlagsFlag("v8-flags", "a=1"), /a V8 flag starts with --, got "a=1"/);
});
