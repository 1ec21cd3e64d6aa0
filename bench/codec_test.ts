import assert from "node:assert/strict";
import { UsageError } from "../cli/args.ts";
import { measureCodecs, timeOp } from "./codec.ts";
import { parseCodecArgs } from "./codec_args.ts";
import { formatCodecTable, KINDS } from "./codec_report.ts";

Deno.test("every kind is timed for encode, decode and validate; both codecs make the same sizes", () => {
  const rows = measureCodecs({ samples: 1, minMs: 0.2 });
  for (const kind of KINDS) {
    const ops = rows.filter((r) => r.kind === kind);
    for (const op of ["encode", "decode", "validate"]) {
      const row = ops.find((r) => r.op === op);
      assert.ok(row && row.leanNs! > 0, `${kind} ${op}`);
    }
    assert.ok(ops.find((r) => r.op === "decode")!.officialNs! > 0);
    // The official runtime has no verifier.
    assert.equal(ops.find((r) => r.op === "validate")!.officialNs, null);
  }
  const sizes = Object.fromEntries(rows.sizes.map((s) => [s.kind, [s.leanBytes, s.officialBytes]]));
  // The old C++ tool's request was 3,180 bytes; old clients read exactly 96.
  assert.deepEqual(sizes["legacy request"], [3180, 3180]);
  assert.deepEqual(sizes["legacy reply"], [96, 96]);
  assert.match(formatCodecTable(rows), /official \/ lean/);
});

Deno.test("timeOp returns a positive median", () => {
  let x = 0;
  assert.ok(timeOp(() => ++x, 3, 0.1) > 0);
});

Deno.test("codec flags", () => {
  assert.deepEqual(parseCodecArgs([]), { samples: 15, minMs: 10, json: undefined, help: false });
  assert.throws(() => parseCodecArgs(["--samples", "0"]), UsageError);
});
