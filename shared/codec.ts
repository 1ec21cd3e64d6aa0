/**
 * What every message between boards and the server shares: the `Commands`
 * FlatBuffer of `schema/mnist.fbs`, bare (legacy clients) or size-prefixed
 * with the `MNST` identifier (framed clients), its commands and the sizes a
 * digit and a reply have. The codecs are beside it, one per direction:
 * `request_codec.ts` (board to server), `request_writer.ts` (a board's
 * request refilled in place), `reply_codec.ts` (server to board) and
 * `update_codec.ts` (code updates). The firmware bundles these files, so
 * they are written in the subset the Espruino interpreter runs and use no
 * Deno, Node or DOM API.
 *
 * @example
 * ```ts
 * import { argmax, CLASSES, Command } from "./codec.ts";
 *
 * const scores = new Float32Array(CLASSES);
 * scores[7] = 0.9;
 * console.log(Command.INFERENCE_INPUT, argmax(scores)); // 1 7
 * ```
 * @module
 */

/** Commands, as in the schema's `Command` enum. */
export const Command = {
  GET_STATS: 0,
  INFERENCE_INPUT: 1,
  INFERENCE_OUTPUT: 2,
  ERROR: 3,
  /** The board fetches a chunk of a release; the reply has the same command. */
  CODE_CHUNK: 4,
  /** The board reports an update's outcome; the reply is an empty OK. */
  UPDATE_REPORT: 5,
} as const;

/** Pixels in one digit: 28 × 28, row-major. */
export const DIGIT_PIXELS = 784;
/** Scores in one reply. */
export const CLASSES = 10;
/** Characters of a device token: fixed, so a board fills its request in place. */
export const TOKEN_LENGTH = 32;
/** The index of the highest score: the predicted digit. */
export function argmax(scores: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

/** The file identifier every framed buffer carries. */
export const FILE_IDENTIFIER = "MNST";
/** Bytes of a legacy reply, always: old clients read exactly this many. */
export const LEGACY_REPLY_LENGTH = 96;
