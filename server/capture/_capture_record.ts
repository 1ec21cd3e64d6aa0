/**
 * A digit `DigitCapture` keeps, as its record (`CaptureRecord`, one line of
 * a capture file): its pixels as bytes in base64, the scores of every
 * version that saw it rounded, and what the answering version predicted.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { argmax, DIGIT_PIXELS } from "../../shared/codec.ts";
import type { CaptureRecord } from "./capture_read.ts";
import type { CaptureReason } from "./capture_rule.ts";

/** What a shadow candidate answered for a digit. */
export interface ShadowScores {
  version: number;
  scores: ArrayLike<number>;
}

/** What `offer()` needs besides the digit. */
export interface CaptureContext {
  model: string;
  /** The version that answered. */
  version: number;
  /** The device's id in the fleet. */
  device: string;
  /** The 10 scores the answering version gave this digit. */
  scores: ArrayLike<number>;
  /** The shadow candidate's answer, when one compared the digit. */
  shadow?: ShadowScores;
}

/** Scales a digit to bytes: floats 0..1 become 0..255; bytes stay. */
export function toBytes(digit: Float32Array | Uint8Array): Uint8Array {
  if (digit instanceof Uint8Array) return digit;
  const bytes = new Uint8Array(DIGIT_PIXELS);
  // Uint8Array clamps, and a rounding store keeps 128/255 as 128.
  for (let i = 0; i < DIGIT_PIXELS; i++) bytes[i] = Math.round(digit[i] * 255);
  return bytes;
}

/** Rounds scores for a record: 4 decimals tell a 0.51 from a 0.49 and keep lines short. */
export function rounded(scores: ArrayLike<number>): number[] {
  return Array.from(scores, (s) => Math.round(s * 1e4) / 1e4);
}

/** The record of a digit kept for `reason`, as `id`; `bytes` are its 784 pixels. */
export function captureRecord(
  id: string,
  bytes: Uint8Array,
  context: CaptureContext,
  reason: CaptureReason,
): CaptureRecord {
  const prediction = argmax(context.scores);
  const shadow = context.shadow;
  const scores: Record<string, number[]> = { [context.version]: rounded(context.scores) };
  if (shadow) scores[shadow.version] = rounded(shadow.scores);
  return {
    id,
    time: new Date().toISOString(),
    model: context.model,
    version: context.version,
    device: context.device,
    prediction,
    confidence: Math.round(context.scores[prediction] * 1e4) / 1e4,
    reason,
    scores,
    ...(shadow ? { shadow: shadow.version } : {}),
    pixels: Buffer.from(bytes).toString("base64"),
  };
}
