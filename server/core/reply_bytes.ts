/**
 * A reply's bytes for a framed or MQTT board. Most replies answer an
 * inference with its scores and nothing else, and those all have the same
 * layout (`inferenceReplyLayout`): such a reply is a copy of that layout's
 * bytes with its values written in, which costs the event loop a fraction of
 * building the buffer field by field (an object per field, two passes, a
 * buffer of its own; a filled reply is a view into a slab, `ByteSlab`). Any
 * other reply (an error, stats, an update offer, a code chunk, no request id)
 * is built by `encodeReply`; both give the same bytes, which a test checks
 * over random replies.
 *
 * @example
 * ```ts
 * import { replyBytes } from "./reply_bytes.ts";
 * import { Command } from "../../shared/codec.ts";
 * import { decodeReply, encodeReply } from "../../shared/reply_codec.ts";
 *
 * const reply = {
 *   command: Command.INFERENCE_OUTPUT,
 *   requestId: 7,
 *   scores: new Float32Array([0.1, 0.9]),
 *   predicted: 1,
 * };
 * const bytes = replyBytes(reply, true);
 * console.log(bytes.join() === encodeReply(reply, true).join()); // true
 * console.log(decodeReply(bytes.subarray(4))); // { command: 2, requestId: 7, ..., predicted: 1, ... }
 * ```
 * @module
 */
import { Command } from "../../shared/codec.ts";
import {
  encodeReply,
  type InferenceReplyLayout,
  inferenceReplyLayout,
  type Reply,
} from "../../shared/reply_codec.ts";
import { ByteSlab } from "./byte_slab.ts";

/** Replies are written or copied soon after they are made: a slab of a few dozen each. */
const replies = new ByteSlab(4096);

/** Layouts made so far: [framed ? 1 : 0][scores]. A model has one count of scores, so two entries in all. */
const layouts: Map<number, InferenceReplyLayout>[] = [new Map(), new Map()];

function layoutOf(framed: boolean, classes: number): InferenceReplyLayout {
  const made = layouts[framed ? 1 : 0];
  let layout = made.get(classes);
  if (!layout) made.set(classes, layout = inferenceReplyLayout(framed, classes));
  return layout;
}

/** `reply` encoded, size-prefixed with the identifier when `framed` (`encodeReply`'s bytes). */
export function replyBytes(reply: Reply, framed: boolean): Uint8Array {
  const scores = reply.scores;
  if (
    reply.command !== Command.INFERENCE_OUTPUT || !reply.requestId || reply.status ||
    reply.error || !scores || reply.stats || reply.update || reply.chunk
  ) return encodeReply(reply, framed);
  const layout = layoutOf(framed, scores.length);
  const bytes = replies.take(layout.bytes.length);
  bytes.set(layout.bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  view.setUint32(layout.requestIdAt, reply.requestId, true);
  for (let i = 0, at = layout.scoresAt; i < scores.length; i++, at += 4) {
    view.setFloat32(at, scores[i], true);
  }
  // As encodeReply writes them: an absent value is 0, each cut to its field's width.
  view.setFloat32(layout.inferenceMsAt, reply.inferenceMs || 0, true);
  view.setUint8(layout.predictedAt, reply.predicted || 0);
  view.setFloat32(layout.queueMsAt, reply.queueMs || 0, true);
  view.setUint16(layout.batchSizeAt, reply.batchSize || 0, true);
  view.setUint32(layout.modelVersionAt, reply.modelVersion || 0, true);
  return bytes;
}
