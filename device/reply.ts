/**
 * Reads a reply on the board: the request id, the status and its sentence,
 * the ten scores and the inference time, from a framed payload or a bare
 * legacy reply, checking every offset and length against the buffer first
 * (Espruino's `DataView` reads past the end without a word).
 *
 * Why not the shared `decodeReply`: with the reader under it, it is 2.1 KB of
 * the firmware's 6 KB, a third of it for fields a board never reads
 * (statistics, queue time, batch size). This reads only what the board
 * prints, in 0.5 KB; the tests hold it to `decodeReply`'s answers on
 * replies the shared codec encodes, and to never reading outside the buffer
 * on cut and corrupted ones. Slots are the schema's (`shared/schema/mnist.fbs`).
 *
 * @example
 * ```ts
 * import { readReply } from "./reply.ts";
 * import { encodeReply } from "../shared/codec.ts";
 *
 * const scores = new Float32Array(10);
 * const frame = encodeReply({ command: 2, requestId: 7, scores: [0, 1, 0, 0, 0, 0, 0, 0, 0, 0] }, true);
 * const reply = readReply(frame.subarray(4), scores); // the payload, after the length
 * console.log(reply, scores[1]); // { id: 7, status: 0, error: "", ms: 0 } 1
 * ```
 * @module
 */
import { CLASSES } from "../shared/codec.ts";

// Slots of `Commands` in the schema.
const OUTPUT = 3;
const REQUEST_ID = 4;
const STATUS = 5;
const ERROR = 6;
// Slots of `InferenceOutput`.
const SCORES = 0;
const TIMER_MS = 2;

/** What a board needs from a reply; the scores go into the caller's array. */
export interface ReplyFields {
  id: number;
  status: number;
  error: string;
  /** The server's inference time, ms. */
  ms: number;
}

/** Throws unless `size` bytes from `at` lie inside `b`. */
function need(b: Uint8Array, at: number, size: number): void {
  if (!(at >= 0 && at + size <= b.length)) throw "cut short";
}

/** The unsigned little-endian integer of `size` bytes at `at`. */
function get(b: Uint8Array, at: number, size: number): number {
  need(b, at, size);
  let v = 0;
  while (size--) v = v * 256 + b[at + size];
  return v;
}

/** Where field `slot` of the table at `t` is, or -1 when it is absent. */
function field(b: Uint8Array, t: number, slot: number): number {
  // A table starts with a signed offset back to its vtable.
  const vt = t - (get(b, t, 4) | 0);
  const entry = 4 + 2 * slot;
  const off = entry < get(b, vt, 2) ? get(b, vt + entry, 2) : 0;
  return off ? t + off : -1;
}

/** The scalar of `size` bytes in field `slot`, 0 when absent. */
function scalar(b: Uint8Array, t: number, slot: number, size: number): number {
  const at = field(b, t, slot);
  return at < 0 ? 0 : get(b, at, size);
}

/** Where the table, vector or string that field `slot` points to starts, or -1. */
function ref(b: Uint8Array, t: number, slot: number): number {
  const at = field(b, t, slot);
  return at < 0 ? -1 : at + get(b, at, 4);
}

/**
 * Reads reply `b` (a framed payload or a bare legacy reply), writing its
 * scores into `scores`; a sentence instead when the bytes are not a reply
 * with ten scores or a status.
 */
export function readReply(b: Uint8Array, scores: Float32Array): ReplyFields | string {
  try {
    const root = get(b, 0, 4);
    const reply = {
      id: scalar(b, root, REQUEST_ID, 4),
      status: scalar(b, root, STATUS, 1),
      error: "",
      ms: 0,
    };
    if (reply.status) {
      const at = ref(b, root, ERROR);
      const n = at < 0 ? 0 : get(b, at, 4);
      need(b, at + 4, n);
      for (let i = 0; i < n; i++) reply.error += String.fromCharCode(b[at + 4 + i]);
      return reply;
    }
    const out = ref(b, root, OUTPUT);
    const v = out < 0 ? -1 : ref(b, out, SCORES);
    if (v < 0 || get(b, v, 4) != CLASSES) throw "no scores";
    need(b, v + 4, 4 * CLASSES);
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    for (let i = 0; i < CLASSES; i++) scores[i] = dv.getFloat32(v + 4 + 4 * i, true);
    const at = field(b, out, TIMER_MS);
    if (at >= 0) {
      need(b, at, 4);
      reply.ms = dv.getFloat32(at, true);
    }
    return reply;
  } catch (e) {
    return "bad reply: " + e;
  }
}
