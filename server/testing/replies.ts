/**
 * What the tests of the board port check replies with: a digit-like picture
 * (`ring`), ten scores that are probabilities (`assertScores`), and the
 * replies of a byte stream of size-prefixed frames, none cut off
 * (`framedReplies`).
 *
 * @example
 * ```ts
 * import { assertScores, ring } from "./replies.ts";
 *
 * console.log(ring().length); // 784
 * assertScores(new Float32Array(10).fill(0.1));
 * ```
 * @module
 */
import assert from "node:assert/strict";
import type { DecodedReply } from "../../shared/reply_codec.ts";
import { splitFramed } from "./server.ts";

/** A digit-like picture: a filled ring (0..1) so the model sees structure, not noise. */
export function ring(scale = 1): Float32Array {
  return Float32Array.from({ length: 784 }, (_, i) => {
    const r = Math.hypot((i % 28) - 13.5, Math.floor(i / 28) - 13.5);
    return r > 6 && r < 9 ? scale : 0;
  });
}

/** Asserts ten finite scores in 0..1 that sum to 1. */
export function assertScores(scores: ArrayLike<number> | null): void {
  assert.ok(scores, "the reply carries scores");
  assert.equal(scores.length, 10);
  let sum = 0;
  for (const s of Array.from(scores)) {
    assert.ok(Number.isFinite(s) && s >= 0 && s <= 1, `score ${s}`);
    sum += s;
  }
  assert.ok(Math.abs(sum - 1) < 1e-3, `scores sum to ${sum}`);
}

/** The replies in a byte stream of size-prefixed replies, none cut off. */
export function framedReplies(bytes: Uint8Array): DecodedReply[] {
  const { replies, rest } = splitFramed(bytes);
  assert.equal(rest, 0, "no partial reply");
  return replies;
}
