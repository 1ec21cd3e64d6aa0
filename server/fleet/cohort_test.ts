import assert from "node:assert/strict";
import { cohortOf, COHORTS, inCohort } from "./cohort.ts";

/** The contract's definition, computed another way: WebCrypto and a DataView. */
async function reference(id: string): Promise<number> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(id));
  return new DataView(digest).getUint32(0, false) % COHORTS;
}

Deno.test("cohort: the first 4 bytes of SHA-256, big-endian, modulo 10,000", async () => {
  // `printf kitchen | sha256sum` starts 3171d89a: 0x3171d89a = 829,544,602.
  assert.equal(cohortOf("kitchen"), 4602);
  for (const id of ["kitchen", "addr:10.0.0.7", "5ccf7f0a1b2c", "é", ""]) {
    assert.equal(cohortOf(id), await reference(id), id);
  }
  for (let i = 0; i < 500; i++) assert.equal(cohortOf(`board-${i}`), await reference(`board-${i}`));
});

Deno.test("cohort: a share of S holds about S of a fleet, and grows without reshuffling", () => {
  const ids = Array.from({ length: 10_000 }, (_, i) => `board-${i}`);
  const ten = ids.filter((id) => inCohort(id, 0.1));
  assert.ok(ten.length > 900 && ten.length < 1100, `10% holds ${ten.length} of 10,000`);
  const sixty = new Set(ids.filter((id) => inCohort(id, 0.6)));
  assert.ok(ten.every((id) => sixty.has(id)), "a device in 10% stays in 60%");
  assert.equal(ids.filter((id) => inCohort(id, 0)).length, 0);
  assert.equal(ids.filter((id) => inCohort(id, 1)).length, ids.length);
});
