import assert from "node:assert/strict";
import { LimitColumns } from "./limit_columns.ts";

Deno.test("each place counts in its own column at first, and there is a spare per place", () => {
  const columns = new LimitColumns(3);
  assert.equal(columns.count, 7);
  assert.deepEqual([1, 2, 3].map((thread) => columns.of(thread)), [1, 2, 3]);
});

Deno.test("a stuck Worker's place moves to a spare; its column becomes one once it stops", () => {
  const columns = new LimitColumns(2);
  assert.equal(columns.moveToSpare(1), true);
  const first = columns.of(1);
  assert.ok(first > 2, `a spare column, not a place's: ${first}`);
  assert.equal(columns.freed(1), undefined);
  // The freed column is handed out again, never the one thread 1 counts in now.
  assert.equal(columns.moveToSpare(2), true);
  assert.notEqual(columns.of(2), first);
  assert.equal(columns.moveToSpare(1), true);
  assert.equal(new Set([columns.of(1), columns.of(2)]).size, 2);
});

Deno.test("with no spare left a place waits, and takes the first column freed", () => {
  const columns = new LimitColumns(1);
  assert.equal(columns.moveToSpare(1), true); // thread 1's Worker stuck in column 1, the place in 2
  assert.equal(columns.of(1), 2);
  assert.equal(columns.moveToSpare(1), false); // its replacement stuck too: no spare left
  assert.equal(
    columns.of(1),
    2,
    "a waiting place starts nothing: its column is still the stuck one's",
  );
  assert.equal(columns.freed(1), 1); // the first stuck one stops: the waiting place takes column 1
  assert.equal(columns.of(1), 1);
  assert.equal(columns.freed(2), undefined); // the second stops: a spare again
  assert.equal(columns.moveToSpare(1), true);
  assert.equal(columns.of(1), 2);
});

Deno.test("while the Workers stop, a freed column goes to the spares, not to a waiting place", () => {
  const columns = new LimitColumns(1);
  columns.moveToSpare(1);
  assert.equal(columns.moveToSpare(1), false);
  assert.equal(columns.freed(1, false), undefined);
  assert.equal(columns.of(1), 2);
});
