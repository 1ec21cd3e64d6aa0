/**
 * What a shadow comparison tells its observers: one live digit, the answer
 * the serving version gave (the one the client got) and the answer the
 * candidate gave afterwards (which nobody got). `--capture`'s rule for
 * "disagreements between serving and shadow" and "the scores of every
 * version that saw the digit" read these; the shadow's own figures are made
 * from the same events.
 *
 * Subscribe with `startServer({ onShadow })` (`ServerOptions.onShadow`). An
 * event is told once per compared digit, after the candidate's run, never
 * before the client's reply; a digit whose shadow run was dropped (load) or
 * failed is never told.
 *
 * @example
 * ```ts
 * import type { ShadowEvent } from "./shadow_event.ts";
 *
 * const onShadow = (event: ShadowEvent) => {
 *   if (event.serving.predicted !== event.candidate.predicted) {
 *     console.log(event.deviceId, event.serving.predicted, "->", event.candidate.predicted);
 *   }
 * };
 * ```
 * @module
 */

/** One version's answer to a digit. */
export interface VersionAnswer {
  version: number;
  /** The 10 scores (the model's output, probabilities for the bundled models). */
  scores: Float32Array;
  /** The argmax of `scores`. */
  predicted: number;
}

/** One digit compared between the serving version and a shadow candidate. */
export interface ShadowEvent {
  /** The model's name (never "" : the default model's name when the request named none). */
  model: string;
  /** The device's id in the fleet (`RequestEvent.deviceId`). */
  deviceId: string;
  /** The digit as sent, 784 values: bytes (0..255) or floats; exactly one is set. Owned by the event. */
  digitU8: Uint8Array | null;
  digit: Float32Array | null;
  /** The answer the client got. */
  serving: VersionAnswer;
  /** The candidate's answer, which nobody got. */
  candidate: VersionAnswer;
  /** Whether both predicted the same digit. */
  agree: boolean;
}
