/**
 * The codec's reply reader for boards: the request id, the status and its sentence,
 * the ten scores and the inference time, from a framed payload or a bare
 * legacy reply, checking every offset and length against the buffer first
 * (Espruino's `DataView` reads past the end without a word).
 *
 * Why a second reader beside `decodeReply` (reply_codec.ts): with the reader under
 * it, `decodeReply` is 2.1 KB of the firmware's 6 KB and costs the board
 * variables it does not have (1,600 of 12 bytes), a third of it for fields a
 * board never reads (statistics, queue time, batch size). This reads only what the board
 * prints, in 0.5 KB, as one function; the tests hold it to `decodeReply`'s answers on
 * replies the shared codec encodes, and to never reading outside the buffer
 * on cut and corrupted ones. Slots are the schema's (`shared/schema/mnist.fbs`).
 *
 * @example
 * ```ts
 * import { readReply } from "./board_reply.ts";
 * import { encodeReply } from "./reply_codec.ts";
 *
 * const scores = new Float32Array(10);
 * const frame = encodeReply({ command: 2, requestId: 7, scores: [0, 1, 0, 0, 0, 0, 0, 0, 0, 0] }, true);
 * const reply = readReply(frame.subarray(4), scores); // the payload, after the length
 * console.log(reply, scores[1]); // { id: 7, status: 0, error: "", ms: 0, cmd: 2 } 1
 * ```
 * @module
 */
import { CLASSES } from "./codec.ts";

/** Field slots (a `const enum`: inlined, no variables on the board). */
const enum Slot {
  // Of `Commands` in the schema.
  CMD = 0,
  OUTPUT = 3,
  REQUEST_ID = 4,
  STATUS = 5,
  ERROR = 6,
  UPDATE = 11,
  CHUNK = 12,
  // Of `InferenceOutput`.
  SCORES = 0,
  TIMER_MS = 2,
}

/** What a board needs from a reply; the scores go into the caller's array. */
export interface ReplyFields {
  id: number;
  status: number;
  error: string;
  /** The server's inference time, ms. */
  ms: number;
  /** The command answered: 2 (inference), 4 (a code chunk), 5 (an update report). */
  cmd?: number;
  /** An update offered: its release, size, CRC-32 and MAC (raw bytes as a string, "" when absent). */
  offer?: [string, number, number, string];
  /** A code chunk's bytes (a view into `b`) and their CRC-32. */
  data?: Uint8Array;
  crc?: number;
}

/** What the board's build says of itself (`device/build.ts` defines it; absent elsewhere). */
interface Builds {
  /** True in a board build without updates over the air. */
  MNIST_NO_UPDATES?: boolean;
}

/**
 * Reads reply `b` (a framed payload or a bare legacy reply), writing its
 * scores into `scores`; a sentence instead when the bytes are not a reply
 * with ten scores or a status. One function with two small helpers inside,
 * made per reply: on Espruino every function kept costs variables.
 */
export function readReply(b: Uint8Array, scores: Float32Array): ReplyFields | string {
  /** Throws unless `size` bytes from `at` lie inside `b`. */
  const need = (at: number, size: number): void => {
    if (!(at >= 0 && at + size <= b.length)) throw "cut short";
  };
  /**
   * The unsigned little-endian integer of `size` bytes at `at`; 0, the
   * schema's default, at -1, where an absent field is.
   */
  const get = (at: number, size: number): number => {
    if (at == -1) return 0;
    need(at, size);
    let v = 0;
    while (size--) v = v * 256 + b[at + size];
    return v;
  };
  /**
   * Where field `slot` of the table at `t` is (-1 when absent, or when the
   * table is), or with `deref` where the table, vector or string it points
   * to starts.
   */
  const field = (t: number, slot: number, deref?: boolean): number => {
    // A table starts with a signed offset back to its vtable; an absent
    // table's vtable is at -1 too, and so is any field of it.
    const vt = t - (get(t, 4) | 0);
    const entry = 4 + 2 * slot;
    const off = entry < get(vt, 2) ? get(vt + entry, 2) : 0;
    return !off ? -1 : deref ? t + off + get(t + off, 4) : t + off;
  };
  /** The bytes of the byte vector or string that starts at `at` (-1: absent, none), a view into `b`. */
  const bytes = (at: number): Uint8Array => {
    const n = get(at, 4);
    need(at + 4, n);
    return b.subarray(at + 4, at + 4 + n);
  };
  /** The same as a string, a character a byte (`apply` takes a typed array on Espruino too). */
  const text = (at: number): string =>
    String.fromCharCode.apply(null, bytes(at) as unknown as number[]);
  try {
    const root = get(0, 4);
    const reply: ReplyFields = {
      id: get(field(root, Slot.REQUEST_ID), 4),
      status: get(field(root, Slot.STATUS), 1),
      error: "",
      ms: 0,
    };
    let at;
    // Board builds without updates (device/build.ts defines this true) read
    // no command, offers or chunks: it keeps their bytes out of the 6 KB bundle.
    if (!(globalThis as Builds).MNIST_NO_UPDATES) reply.cmd = get(field(root, Slot.CMD), 1);
    if (reply.status) {
      reply.error = text(field(root, Slot.ERROR, true));
      return reply;
    }
    if (!(globalThis as Builds).MNIST_NO_UPDATES) {
      // UpdateOffer: release, size, crc32, mac; CodeChunk: data (slot 2), crc32 (slot 3).
      at = field(root, Slot.UPDATE, true);
      if (at >= 0) {
        reply.offer = [
          text(field(at, 0, true)),
          get(field(at, 1), 4),
          get(field(at, 2), 4),
          text(field(at, 3, true)),
        ];
      }
      at = field(root, Slot.CHUNK, true);
      if (at >= 0) {
        reply.crc = get(field(at, 3), 4);
        reply.data = bytes(field(at, 2, true));
      }
      // Replies to update requests carry no scores.
      if ((reply.cmd as number) > 3) return reply;
    }
    const out = field(root, Slot.OUTPUT, true);
    const v = field(out, Slot.SCORES, true);
    if (get(v, 4) != CLASSES) throw "no scores";
    need(v + 4, 4 * CLASSES);
    // The floats' bytes as they are: little-endian, as the board's own.
    new Uint8Array(scores.buffer).set(b.subarray(v + 4, v + 4 + 4 * CLASSES));
    at = field(out, Slot.TIMER_MS);
    if (at >= 0) {
      need(at, 4);
      // To the end of the buffer under `b`: `need` has checked the read against `b`.
      reply.ms = new DataView(b.buffer, b.byteOffset).getFloat32(at, true);
    }
    return reply;
  } catch (e) {
    return "bad reply: " + e;
  }
}
