import assert from "node:assert/strict";
import { findInk } from "./ink.ts";

/** A `w`×`h` sheet at `paper`, lit from the left at 55% and full light on the right. */
function sheet(w: number, h: number, paper: number) {
  const grey = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) grey[y * w + x] = paper * (0.55 + 0.45 * (x / (w - 1)));
  }
  return { width: w, height: h, grey };
}

/** Darkens a `rw`×`rh` rectangle at `x`,`y` to a third of what it was: a stroke. */
function stroke(p: ReturnType<typeof sheet>, x: number, y: number, rw: number, rh: number) {
  for (let j = y; j < y + rh; j++) for (let i = x; i < x + rw; i++) p.grey[j * p.width + i] /= 3;
}

Deno.test("ink: a stroke on unevenly lit paper, a shadowed corner and specks: only the stroke", () => {
  const p = sheet(200, 200, 230);
  stroke(p, 90, 40, 12, 120); // the digit: a 1
  stroke(p, 20, 180, 2, 2); // specks of dirt
  stroke(p, 170, 20, 3, 3);
  // A thumb's shadow over the bottom-right corner: 65% light, soft over 20 px.
  for (let y = 0; y < 200; y++) {
    for (let x = 0; x < 200; x++) {
      const r = Math.hypot(x - 200, y - 200);
      p.grey[y * 200 + x] *= 1 - 0.35 * Math.min(1, Math.max(0, (70 - r) / 20));
    }
  }
  const found = findInk(p);
  assert.ok(found);
  // The stroke, one pixel wider each way: the 3×3 mean before the threshold blurs its edge.
  assert.deepEqual(found.box, { x0: 89, y0: 39, x1: 102, y1: 160 });
  // Nothing outside that and its one-pixel edge is ink.
  for (let y = 0; y < 200; y++) {
    for (let x = 0; x < 200; x++) {
      if (x < 89 || x > 102 || y < 39 || y > 160) {
        assert.equal(found.ink[y * 200 + x], 0, `${x},${y}`);
      }
    }
  }
  assert.ok(found.ink[100 * 200 + 95] > 240, "the stroke is full ink");
});

Deno.test("ink: a blank sheet, noisy and unevenly lit, has none; a faint smudge neither", () => {
  const p = sheet(120, 120, 220);
  let seed = 1;
  const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 20;
  for (let i = 0; i < p.grey.length; i++) p.grey[i] += noise();
  assert.equal(findInk(p), null);
  for (let y = 50; y < 70; y++) for (let x = 50; x < 53; x++) p.grey[y * 120 + x] -= 15;
  assert.equal(findInk(p), null);
});

Deno.test("ink: a 5's detached top joins it; light on dark works the same", () => {
  const p = sheet(100, 100, 240);
  stroke(p, 30, 20, 40, 6); // the top bar, not touching
  stroke(p, 30, 30, 6, 50); // the rest
  const dark = findInk(p);
  assert.deepEqual(dark?.box, { x0: 29, y0: 19, x1: 70, y1: 80 });
  const light = { ...p, grey: p.grey.map((v) => 255 - v) };
  assert.deepEqual(findInk(light)?.box, dark?.box);
});
