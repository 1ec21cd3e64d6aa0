// deno task classify, as a person runs it, against the real server: PNG
// pictures made from the 1,000 held-out digits (upscaled 4x, inverted to
// dark ink on light, moved off-centre; grey, RGB, RGBA on a transparent
// background and 16-bit, some left light on dark) must come back right at
// 98% or more. The PNGs are encoded by client/classify/encode.ts with
// the same library the classifier decodes with, in its own process and
// configuration, so that this suite never resolves the PNG library.
// classify_photo_test.ts has the photo-like JPEGs.
import assert from "node:assert/strict";
import { withServer } from "../server/testing/server.ts";
import type { EncodeJob } from "./classify/encode_job.ts";
import { loadHeldOut } from "../models/mnist_data.ts";
import { classify, encodePictures, ROOT, run } from "./classify_testing.ts";

type Job = EncodeJob;

/** Digit `i` as a picture: 4x, off-centre on a larger canvas, in one of five forms. */
function picture(pixels: Float32Array, i: number): Omit<Job, "raw" | "out"> & { data: Uint8Array } {
  const scale = 4, width = 150, height = 130;
  // Off-centre by a different amount each time, never clipped.
  const dx = (i * 7) % (width - 28 * scale), dy = (i * 11) % (height - 28 * scale);
  const form = i % 5;
  const channels = form === 1 ? 3 : form === 2 ? 4 : 1;
  const depth = form === 4 ? 16 : 8;
  const bytes = depth / 8;
  const data = new Uint8Array(width * height * channels * bytes);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = Math.floor((x - dx) / scale), sy = Math.floor((y - dy) / scale);
      const ink = sx >= 0 && sx < 28 && sy >= 0 && sy < 28 ? pixels[sy * 28 + sx] : 0;
      const at = (y * width + x) * channels * bytes;
      if (form === 2) {
        // Black ink whose opacity is the ink, on a transparent canvas.
        data[at + 3] = Math.round(ink * 255);
      } else if (form === 3) {
        data[at] = Math.round(ink * 255); // left light on dark
      } else if (form === 4) {
        const v = Math.round((1 - ink) * 65535);
        data[at] = v >> 8;
        data[at + 1] = v & 255;
      } else {
        data.fill(Math.round((1 - ink) * 255), at, at + channels);
      }
    }
  }
  return { data, width, height, channels, depth };
}

Deno.test("deno task classify: PNGs of the held-out digits, 4x, inverted, off-centre: >= 98%", async () => {
  await withServer({}, async (server) => {
    const dir = await Deno.makeTempDir();
    try {
      const digits = loadHeldOut();
      const jobs: Job[] = [];
      for (const [i, digit] of digits.entries()) {
        const { data, ...shape } = picture(digit.pixels, i);
        const job = { raw: `${dir}/${i}.raw`, out: `${dir}/${i}.png`, ...shape };
        await Deno.writeFile(job.raw, data);
        jobs.push(job);
      }
      await encodePictures(jobs);

      const out = await classify([
        "--json",
        "--server",
        `127.0.0.1:${server.addr.port}`,
        ...jobs.map((j) => j.out),
      ]);
      assert.equal(out.stderr, "");
      const results = out.stdout.trim().split("\n").map((line) => JSON.parse(line));
      // Exit 3 when some answer is below --min-score (0.8), 0 when none is.
      assert.equal(out.code, results.some((r) => !r.sure) ? 3 : 0);
      assert.equal(results.length, digits.length);
      let right = 0;
      const wrongByForm = [0, 0, 0, 0, 0];
      for (const [i, r] of results.entries()) {
        assert.equal(r.file, jobs[i].out);
        assert.equal(r.scores.length, 10);
        assert.equal(r.digit.length, 784);
        assert.equal(r.score, Math.max(...r.scores));
        if (r.predicted === digits[i].label) right++;
        else wrongByForm[i % 5]++;
      }
      const accuracy = right / digits.length;
      console.log(
        `classify: ${right} of ${digits.length} right (${(accuracy * 100).toFixed(1)}%); ` +
          `wrong by form (grey, RGB, RGBA, light on dark, 16-bit): ${wrongByForm.join(", ")}`,
      );
      assert.ok(accuracy >= 0.98, `${(accuracy * 100).toFixed(1)}%`);

      // For people: the verdict, the ten scores and the 28-line picture; stdin works too.
      const png = await Deno.readFile(jobs[0].out);
      const text = await classify(["--server", `127.0.0.1:${server.addr.port}`, "-"], png);
      assert.equal(text.code, results[0].sure ? 0 : 3, text.stderr);
      const lines = text.stdout.split("\n");
      const unsure = results[0].sure ? "" : ", unsure: below --min-score 0.8";
      assert.equal(
        lines[0],
        `(stdin): ${results[0].predicted} (score ${results[0].score.toFixed(4)}${unsure})`,
      );
      assert.match(lines[1], /^0: \d\.\d{4} {2}1: .* {2}9: \d\.\d{4}$/);
      assert.equal(lines.slice(2, 30).length, 28);
      assert.ok(lines.slice(2, 30).some((l) => /[@%#]/.test(l)), text.stdout);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("deno task classify: help without a server; mistakes are one line", async () => {
  const help = await classify(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^deno task classify \[flags\] FILE\.\.\./);
  // The task's line in `deno task`'s list names the pictures --help names.
  const { description } = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks.classify;
  for (const picture of ["JPEG", "PNG", "PGM"]) {
    assert.match(help.stdout, new RegExp(`\\b${picture}\\b`));
    assert.match(description, new RegExp(`\\b${picture}\\b`), description);
  }

  const none = await classify([]);
  assert.deepEqual([none.code, none.stderr.trim().split("\n").length], [2, 1]);
  assert.match(none.stderr, /^classify: name at least one FILE/);

  const flag = await classify(["--port", "1", "x.png"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /^classify: .*--port.*\(deno task classify --help\)\n$/);

  const server = await classify(["--server", "no:such:thing", "x.png"]);
  assert.equal(server.code, 2);
  assert.match(server.stderr, /^classify: --server: /);

  // A token of the wrong length is refused before anything is read or sent, as fuzz refuses it.
  const token = await classify(["--token", "short", "x.png"]);
  assert.equal(token.code, 2);
  assert.match(token.stderr, /^classify: --token must be 32 characters .*got 5/);

  // Nobody listening on port 1: one line naming where.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.pgm`, "P2 1 1 255\n0\n");
    // A FILE that is not there comes first: one line, exit 2, before any connection.
    const missing = await classify(["--server", "127.0.0.1:1", `${dir}/a.pgm`, `${dir}/nope.png`]);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, `classify: ${dir}/nope.png: no such file\n`);
    assert.equal(missing.stdout, "");
    const folder = await classify(["--server", "127.0.0.1:1", dir]);
    assert.equal(folder.code, 2);
    assert.equal(folder.stderr, `classify: ${dir} is a folder, not a picture\n`);
    const down = await classify(["--server", "127.0.0.1:1", `${dir}/a.pgm`]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^classify: cannot reach the server at 127\.0\.0\.1:1: .*\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task classify: --server naming an HTTP port says so in one line", async () => {
  const http = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const answering = (async () => {
    for await (const conn of http) {
      await conn.read(new Uint8Array(4096));
      await conn.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
      conn.close();
    }
  })();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.pgm`, "P2 3 3 255\n255 0 255\n255 0 255\n255 0 255\n");
    const where = `127.0.0.1:${http.addr.port}`;
    const out = await classify(["--server", where, `${dir}/a.pgm`]);
    assert.equal(out.code, 1);
    assert.equal(
      out.stderr,
      `classify: the server at ${where} failed: the reply is HTTP: this is an HTTP port, ` +
        "not the board port (32001)\n",
    );
  } finally {
    http.close();
    await answering.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task classify: a file that is not a picture is named; the others go on", async () => {
  await withServer({}, async (server) => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/notes.txt`, "not a picture");
      await Deno.writeFile(`${dir}/cut.png`, new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0]));
      const p2 = "P2 3 3 255\n255 0 255\n255 0 255\n255 0 255\n";
      await Deno.writeTextFile(`${dir}/one.pgm`, p2);
      const where = `127.0.0.1:${server.addr.port}`;
      const out = await classify([
        "--json",
        "--server",
        where,
        `${dir}/notes.txt`,
        `${dir}/cut.png`,
        `${dir}/one.pgm`,
      ]);
      assert.equal(out.code, 1);
      const errors = out.stderr.trim().split("\n");
      assert.equal(errors.length, 2, out.stderr);
      assert.match(errors[0], /notes\.txt: not a JPEG, PNG or PGM picture$/);
      assert.match(errors[1], /cut\.png: not a readable PNG: /);
      const results = out.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(results.length, 1);
      assert.equal(results[0].file, `${dir}/one.pgm`);

      // From another folder, a relative name is taken from there, not from the project's.
      const here = await run(
        ["task", "-q", "--config", `${ROOT}deno.json`, "classify", "--server", where, "one.pgm"],
        undefined,
        dir,
      );
      assert.equal(here.code, 0, here.stderr);
      assert.match(here.stdout, /^one\.pgm: \d \(score /);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
