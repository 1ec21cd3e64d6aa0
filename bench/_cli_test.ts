import assert from "node:assert/strict";
import {
  choiceFlag,
  formatTable,
  intFlag,
  listFlag,
  numberFlag,
  thousands,
  UsageError,
} from "./_cli.ts";

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
