/**
 * Test helper: encodes raw pictures as PNG with `fast-png` (the library the
 * classifier decodes with), so that the tests, which run under the
 * project's configuration, never resolve the PNG library themselves. Reads
 * a JSON list on standard input: `[{raw, png, width, height, channels,
 * depth}]`, where `raw` is a file of samples (bytes, or 16-bit big-endian
 * for depth 16), and writes each `png`.
 *
 * @example
 * ```sh
 * echo '[{"raw":"a.raw","png":"a.png","width":28,"height":28,"channels":1,"depth":8}]' |
 *   deno run --allow-read --allow-write --config client/classify/deno.json client/classify/encode_png.ts
 * ```
 * @module
 */
import { encode } from "fast-png";
import type { EncodeJob } from "./encode_job.ts";

const jobs: EncodeJob[] = JSON.parse(await new Response(Deno.stdin.readable).text());
for (const job of jobs) {
  const raw = await Deno.readFile(job.raw);
  let data: Uint8Array | Uint16Array = raw;
  if (job.depth === 16) {
    const dv = new DataView(raw.buffer);
    data = Uint16Array.from({ length: raw.length / 2 }, (_, i) => dv.getUint16(2 * i));
  }
  await Deno.writeFile(
    job.png,
    encode({
      width: job.width,
      height: job.height,
      data,
      channels: job.channels,
      depth: job.depth,
    }),
  );
}
