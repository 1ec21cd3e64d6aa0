// deno task classify on photo-like JPEGs of the 1,000 held-out digits
// (photo_digits.ts: about 180 px, turned up to 6 degrees, paper texture,
// uneven light, a thumb's shadow over one edge, camera noise; saved at JPEG
// quality 60 by client/classify/encode.ts with the decoder's own library),
// against the real server: at least 97% must come back right, and each
// answer is marked sure or unsure against --min-score. A blank photo (the
// same paper, light, shadow and noise, no digit) is "no digit found", exit 1.
import assert from "node:assert/strict";
import { withServer } from "../server/testing/server.ts";
import type { EncodeJob } from "./classify/encode_job.ts";
import { loadHeldOut } from "../models/mnist_data.ts";
import { classify, encodePictures } from "./classify_testing.ts";
import { photoOfDigit } from "./photo_digits.ts";

/** The share of photo-like pictures that must be classified right. */
const TARGET = 0.97;
const JPEG_QUALITY = 60;

/** Writes photo `seed` of `pixels` as a raw RGB file and returns its JPEG job. */
async function photoJob(dir: string, name: string, pixels: Float32Array, seed: number) {
  const photo = photoOfDigit(pixels, seed);
  const job: EncodeJob = {
    raw: `${dir}/${name}.raw`,
    out: `${dir}/${name}.jpg`,
    width: photo.width,
    height: photo.height,
    channels: 3,
    depth: 8,
    jpegQuality: JPEG_QUALITY,
  };
  await Deno.writeFile(job.raw, photo.rgb);
  return job;
}

Deno.test(`deno task classify: photo-like JPEGs of the held-out digits: >= ${TARGET * 100}%`, async () => {
  await withServer({}, async (server) => {
    const dir = await Deno.makeTempDir();
    try {
      const digits = loadHeldOut();
      const jobs: EncodeJob[] = [];
      for (const [i, digit] of digits.entries()) {
        jobs.push(await photoJob(dir, String(i), digit.pixels, i));
      }
      await encodePictures(jobs);
      const out = await classify([
        "--json",
        "--server",
        `127.0.0.1:${server.addr.port}`,
        ...jobs.map((j) => j.out),
      ]);
      // A photo whose digit is not found counts as wrong, and makes the exit 1.
      const noDigit = out.stderr.split("\n").filter((l) => l.endsWith(": no digit found"));
      assert.equal(noDigit.length, out.stderr.split("\n").filter((l) => l).length, out.stderr);
      const results = out.stdout.trim().split("\n").map((line) => JSON.parse(line));
      assert.equal(results.length + noDigit.length, digits.length, out.stderr);
      let right = 0, unsure = 0, rightWhenSure = 0;
      const wrongByDigit = new Array(10).fill(0);
      const byFile = new Map(jobs.map((job, i) => [job.out, i]));
      for (const line of noDigit) wrongByDigit[digits[byFile.get(line.split(": ")[1])!].label]++;
      for (const r of results) {
        const i = byFile.get(r.file)!;
        assert.equal(r.sure, r.score >= 0.8);
        if (!r.sure) unsure++;
        if (r.predicted === digits[i].label) {
          right++;
          if (r.sure) rightWhenSure++;
        } else wrongByDigit[digits[i].label]++;
      }
      const accuracy = right / digits.length;
      const sure = digits.length - unsure;
      console.log(
        `classify photos: ${right} of ${digits.length} right (${(accuracy * 100).toFixed(1)}%), ` +
          `${noDigit.length} without a digit found; ` +
          `${sure} sure, of which ${rightWhenSure} right ` +
          `(${((rightWhenSure / Math.max(1, sure)) * 100).toFixed(1)}%); ` +
          `wrong by digit 0..9: ${wrongByDigit.join(", ")}`,
      );
      assert.ok(accuracy >= TARGET, `${(accuracy * 100).toFixed(1)}% < ${TARGET * 100}%`);
      // Exit 1 says a picture failed; else 3 that some answer was unsure; 0 that none was.
      assert.equal(out.code, noDigit.length ? 1 : unsure ? 3 : 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("deno task classify: a blank photo is 'no digit found', exit 1; unsure is exit 3", async () => {
  await withServer({}, async (server) => {
    const dir = await Deno.makeTempDir();
    try {
      const digit = loadHeldOut()[0];
      const blank = await photoJob(dir, "blank", new Float32Array(784), 1);
      const seven = await photoJob(dir, "digit", digit.pixels, 2);
      await encodePictures([blank, seven]);
      const where = `127.0.0.1:${server.addr.port}`;

      const none = await classify(["--server", where, blank.out]);
      assert.equal(none.code, 1, none.stdout);
      assert.equal(none.stderr, `classify: ${blank.out}: no digit found\n`);
      assert.equal(none.stdout, "");

      // The same digit, sure at the default; unsure when a perfect score is asked for.
      const sure = await classify(["--server", where, seven.out]);
      assert.equal(sure.code, 0, sure.stderr);
      assert.match(
        sure.stdout,
        new RegExp(`^${seven.out}: ${digit.label} \\(score [01]\\.\\d{4}\\)\\n`),
      );
      const strict = await classify(["--server", where, "--min-score", "1", seven.out]);
      assert.equal(strict.code, 3, strict.stderr);
      assert.match(
        strict.stdout,
        new RegExp(
          `^${seven.out}: ${digit.label} \\(score [01]\\.\\d{4}, unsure: below --min-score 1\\)\\n`,
        ),
      );
      // A blank picture beside an unsure one: the failure (1) wins.
      const both = await classify(["--server", where, "--min-score", "1", seven.out, blank.out]);
      assert.equal(both.code, 1);

      const bad = await classify(["--server", where, "--min-score", "high", seven.out]);
      assert.equal(bad.code, 2);
      assert.equal(
        bad.stderr,
        'classify: --min-score "high" is not a score from 0 to 1 (deno task classify --help)\n',
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
