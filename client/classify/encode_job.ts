/**
 * One picture for `encode.ts` to write, as the classify tests hand it over:
 * dependency-free, so the tests (under the project's configuration) and the
 * encoder (under `client/classify/deno.json`) share the type without the
 * tests resolving the PNG or JPEG library.
 *
 * @module
 */

/** A raw picture file and the PNG or JPEG to write from it. */
export interface EncodeJob {
  /** A file of samples: bytes, or 16-bit big-endian for depth 16. */
  raw: string;
  /** The picture to write. */
  out: string;
  width: number;
  height: number;
  channels: number;
  depth: 8 | 16;
  /** Write JPEG at this quality (1..100) instead of PNG. */
  jpegQuality?: number;
}
