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

Deno.test("cohort: a share of S takes exactly the numbers below S × 10,000, for every share in ten-thousandths", () => {
  // `printf dev-9419 | sha256sum` gives cohort number 700: 0.07 × 10,000 is 700 exactly, so it is
  // outside a 7% cohort (a floating-point product, 700.0000000000001, took it in).
  assert.equal(cohortOf("dev-9419"), 700);
  assert.equal(inCohort("dev-9419", JSON.parse("0.07")), false);
  assert.equal(inCohort("dev-9419", JSON.parse("0.0701")), true);
  // An id for each cohort number, then each share k / 10,000 as a request's JSON gives it.
  const idOf: string[] = [];
  let found = 0;
  for (let i = 0; found < COHORTS; i++) {
    const n = cohortOf(`board-${i}`);
    if (idOf[n] === undefined) {
      idOf[n] = `board-${i}`;
      found++;
    }
  }
  const wrong: string[] = [];
  for (let k = 1; k <= COHORTS; k++) {
    const share = JSON.parse(k === COHORTS ? "1" : `0.${String(k).padStart(4, "0")}`);
    if (!inCohort(idOf[k - 1], share)) wrong.push(`${k - 1} left out of ${share}`);
    if (k < COHORTS && inCohort(idOf[k], share)) wrong.push(`${k} taken into ${share}`);
  }
  assert.deepEqual(wrong, []);
});
