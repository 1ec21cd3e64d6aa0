/**
 * One picture for `encode_png.ts` to write, as the classify tests hand it
 * over: dependency-free, so the tests (under the project's configuration)
 * and the encoder (under `client/classify/deno.json`) share the type without
 * the tests resolving the PNG library.
 *
 * @module
 */

/** A raw picture file and the PNG to write from it. */
export interface EncodeJob {
  /** A file of samples: bytes, or 16-bit big-endian for depth 16. */
  raw: string;
  png: string;
  width: number;
  height: number;
  channels: number;
  depth: 8 | 16;
}
