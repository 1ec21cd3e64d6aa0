import assert from "node:assert/strict";
import { RateWindow } from "./_rate.ts";

Deno.test("RateWindow reports the rate over its window and forgets older seconds", () => {
  let now = 0;
  const window = new RateWindow(10, () => now);
  now = 20_000;
  for (let s = 0; s < 10; s++) {
    window.add(50);
    now += 1000;
  }
  // 500 events over the last 10 s, asked twice: asking resets nothing.
  assert.equal(window.rate(), 45); // the current second is new and empty: 450 in the window
  assert.equal(window.rate(), 45);
  now += 5_000;
  assert.equal(window.rate(), 20); // five of the ten counted seconds fell out
  now += 60_000;
  assert.equal(window.rate(), 0);
});

Deno.test("RateWindow divides by its age while younger than the window", () => {
  let now = 1_000;
  const window = new RateWindow(10, () => now);
  window.add(30);
  now += 3_000;
  assert.equal(window.rate(), 10);
});

Deno.test("RateWindow.reset forgets every event and restarts its age", () => {
  let now = 50_000;
  const window = new RateWindow(10, () => now);
  window.add(1_000);
  now += 2_000;
  window.reset();
  assert.equal(window.rate(), 0);
  window.add(20);
  now += 2_000;
  // 20 events over the 2 s since the reset: the 1,000 before it are gone.
  assert.equal(window.rate(), 10);
});
