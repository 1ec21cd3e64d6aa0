import assert from "node:assert/strict";
import { borderMedian } from "./ink.ts";
import { BOX, decodePgm, mnistDigit, NoDigitError, shading, SIDE } from "./preprocess.ts";
import { greyFromChannels } from "./picture.ts";

/** A white `w`×`h` picture with a black `rw`×`rh` rectangle at `x`,`y`. */
function rectangle(w: number, h: number, x: number, y: number, rw: number, rh: number) {
  const grey = new Float32Array(w * h).fill(255);
  for (let j = y; j < y + rh; j++) for (let i = x; i < x + rw; i++) grey[j * w + i] = 0;
  return { width: w, height: h, grey };
}

/** The bounding box and centre of mass of a 28×28 digit. */
function measure(digit: Uint8Array) {
  let x0 = SIDE, x1 = -1, y0 = SIDE, y1 = -1, mass = 0, mx = 0, my = 0;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const v = digit[y * SIDE + x];
      if (!v) continue;
      x0 = Math.min(x0, x), x1 = Math.max(x1, x), y0 = Math.min(y0, y), y1 = Math.max(y1, y);
      mass += v, mx += v * x, my += v * y;
    }
  }
  return { w: x1 - x0 + 1, h: y1 - y0 + 1, cx: mx / mass, cy: my / mass, max: Math.max(...digit) };
}

Deno.test("dark on light, off-centre, any size: inverted, cropped, 20 px, centred by mass", () => {
  // A tall bar in the top-left corner of a wide picture.
  const digit = mnistDigit(rectangle(300, 200, 10, 5, 40, 100));
  const m = measure(digit);
  assert.equal(m.h, BOX);
  assert.equal(m.w, BOX * 40 / 100);
  assert.ok(Math.abs(m.cx - 13.5) <= 0.5 && Math.abs(m.cy - 13.5) <= 0.5, `${m.cx},${m.cy}`);
  assert.equal(m.max, 255);
  // Light on dark gives the same digit.
  const light = rectangle(300, 200, 10, 5, 40, 100);
  light.grey.forEach((v, i) => light.grey[i] = 255 - v);
  assert.deepEqual(mnistDigit(light), digit);
});

Deno.test("a grey background is taken to 0 and faint ink stretched to 255", () => {
  const p = rectangle(50, 50, 20, 10, 10, 30);
  p.grey.forEach((v, i) => p.grey[i] = v ? 200 : 150); // grey paper, grey pencil
  assert.equal(borderMedian(p.grey, p.width, p.height), 200);
  const digit = mnistDigit(p);
  assert.equal(measure(digit).max, 255);
  assert.equal(digit.filter((v) => v > 0 && v < 255).length, 0, "a rectangle has no grey edge");
  // A blank picture has no digit: said so, never a guess.
  assert.throws(() => mnistDigit(rectangle(10, 10, 0, 0, 0, 0)), NoDigitError);
});

Deno.test("transparency is composited onto white; RGB is weighed to grey", () => {
  // RGBA: transparent everywhere but an opaque black square.
  const rgba = new Uint8Array(4 * 30 * 30);
  for (let y = 10; y < 20; y++) for (let x = 10; x < 20; x++) rgba[(y * 30 + x) * 4 + 3] = 255;
  const grey = greyFromChannels(rgba, 30, 30, 4, 255);
  assert.equal(grey.grey[0], 255);
  assert.equal(grey.grey[15 * 30 + 15], 0);
  const rgb = greyFromChannels([255, 0, 0], 1, 1, 3, 255);
  assert.ok(Math.abs(rgb.grey[0] - 76.245) < 1e-3);
  assert.equal(measure(mnistDigit(grey)).h, BOX);
});

Deno.test("PGM: P5 and P2, comments, 16-bit; bad headers are a sentence", () => {
  const p5 = new Uint8Array([
    ...new TextEncoder().encode("P5\n# made by hand\n2 1\n255\n"),
    0,
    255,
  ]);
  assert.deepEqual(Array.from(decodePgm(p5).grey), [0, 255]);
  const p2 = new TextEncoder().encode("P2 2 1 65535\n0 65535\n");
  assert.deepEqual(Array.from(decodePgm(p2).grey), [0, 255]);
  const wide = new Uint8Array([...new TextEncoder().encode("P5 1 1 65535\n"), 0x80, 0x00]);
  assert.ok(Math.abs(decodePgm(wide).grey[0] - 127.5) < 0.01);
  assert.throws(() => decodePgm(new TextEncoder().encode("P5 2")), /cut short/);
  assert.throws(() => decodePgm(new TextEncoder().encode("P6 1 1 255\n")), /not a PGM/);
  assert.throws(() => decodePgm(new TextEncoder().encode("P5 2 2 255\n\0")), /cut short/);
});

Deno.test("shading: 28 lines, more ink darker", () => {
  const digit = new Uint8Array(784);
  digit[0] = 255;
  digit[1] = 100;
  const lines = shading(digit).split("\n");
  assert.equal(lines.length, 28);
  assert.equal(lines[0], "@@--");
  assert.equal(lines[1], "");
});
