/**
 * Test helper: encodes raw pictures as PNG with `fast-png` (the library the
 * classifier decodes PNG with) or as JPEG with `jpeg-js` (the one it
 * decodes JPEG with), so that the tests, which run under the project's
 * configuration, never resolve either library themselves. Reads a JSON
 * list on standard input: `[{raw, out, width, height, channels, depth,
 * jpegQuality?}]`, where `raw` is a file of samples (bytes, or 16-bit
 * big-endian for depth 16), and writes each `out`: JPEG at `jpegQuality`
 * when it is given (8-bit grey, RGB or RGBA only), PNG otherwise.
 *
 * @example
 * ```sh
 * echo '[{"raw":"a.raw","out":"a.jpg","width":28,"height":28,"channels":1,"depth":8,"jpegQuality":60}]' |
 *   deno run --allow-read --allow-write --config client/classify/deno.json client/classify/encode.ts
 * ```
 * @module
 */
import { encode } from "fast-png";
import jpeg from "jpeg-js";
import type { EncodeJob } from "./encode_job.ts";

/** 8-bit samples of 1, 3 or 4 channels as RGBA, what jpeg-js encodes. */
function rgba(raw: Uint8Array, pixels: number, channels: number): Uint8Array {
  const out = new Uint8Array(pixels * 4);
  for (let i = 0; i < pixels; i++) {
    const at = i * channels;
    out.set(channels === 1 ? [raw[at], raw[at], raw[at]] : raw.subarray(at, at + 3), i * 4);
    out[i * 4 + 3] = 255;
  }
  return out;
}

const jobs: EncodeJob[] = JSON.parse(await new Response(Deno.stdin.readable).text());
for (const job of jobs) {
  const raw = await Deno.readFile(job.raw);
  if (job.jpegQuality !== undefined) {
    const data = rgba(raw, job.width * job.height, job.channels);
    const { width, height } = job;
    await Deno.writeFile(job.out, jpeg.encode({ data, width, height }, job.jpegQuality).data);
    continue;
  }
  let data: Uint8Array | Uint16Array = raw;
  if (job.depth === 16) {
    const dv = new DataView(raw.buffer);
    data = Uint16Array.from({ length: raw.length / 2 }, (_, i) => dv.getUint16(2 * i));
  }
  await Deno.writeFile(
    job.out,
    encode({
      width: job.width,
      height: job.height,
      data,
      channels: job.channels,
      depth: job.depth,
    }),
  );
}
