/**
 * The reply's codec, server to board: a `Reply` encoded (`encodeReply`), the
 * legacy clients' 96-byte reply (`encodeLegacyReply`), the layout of an
 * inference reply a server fills in place (`inferenceReplyLayout`), and a
 * reply decoded (`decodeReply`), which takes untrusted bytes and returns a
 * `WireError` value, never a wrong answer, when a buffer is malformed. The
 * board reads replies with its own lean reader (`board_reply.ts`).
 *
 * @example
 * ```ts
 * import { Command } from "./codec.ts";
 * import { decodeReply, encodeReply } from "./reply_codec.ts";
 *
 * const frame = encodeReply({ command: Command.INFERENCE_OUTPUT, requestId: 7, scores: new Float32Array(10) }, true);
 * console.log(decodeReply(frame.subarray(4))); // { command: 2, requestId: 7, ... }
 * ```
 * @module
 */
import {
  BufferReader,
  buildBuffer,
  F32,
  type Field,
  I8,
  STRING,
  TABLE,
  U16,
  U32,
  U8,
  VEC_F32,
} from "./_flatbuffer.ts";
import {
  COMMANDS_CHUNK,
  COMMANDS_CMD,
  COMMANDS_ERROR,
  COMMANDS_OUTPUT,
  COMMANDS_REQUEST_ID,
  COMMANDS_STATS,
  COMMANDS_STATUS,
  COMMANDS_UPDATE,
  OUTPUT_BATCH_SIZE,
  OUTPUT_F,
  OUTPUT_MODEL_VERSION,
  OUTPUT_N,
  OUTPUT_PREDICTED,
  OUTPUT_QUEUE_MS,
  OUTPUT_TIMER_MS,
  STATS_FREQ,
  STATS_MODE,
  STATS_MODEL,
  STATS_MODEL_VERSION,
  STATS_PARAMETERS,
  STATS_SERVED,
  STATS_VERSION,
} from "./_slots.ts";
import { Command, FILE_IDENTIFIER } from "./codec.ts";
import { WireError } from "./errors.ts";
import {
  type CodeChunk,
  readChunk,
  readOffer,
  updateFields,
  type UpdateOffer,
} from "./update_codec.ts";

/** What the server says about itself in answer to `GET_STATS`. */
export interface Stats {
  version: number;
  /** Inferences per second over the last second. */
  freq: number;
  mode: number;
  parameters: number;
  served: number;
  model: string;
  /** The version of the default model that serves (0 when unversioned). */
  modelVersion?: number;
}

/** A reply from the server. Absent fields decode as 0, "" or null. */
export interface Reply {
  command: number;
  requestId?: number;
  status?: number;
  error?: string;
  scores?: ArrayLike<number> | null;
  predicted?: number;
  inferenceMs?: number;
  queueMs?: number;
  batchSize?: number;
  /** The version of the model that answered. */
  modelVersion?: number;
  stats?: Stats | null;
  /** An update offered to the device (framed replies only). */
  update?: UpdateOffer | null;
  /** A chunk of code, answering `CODE_CHUNK`. */
  chunk?: CodeChunk | null;
}

/** A decoded reply. */
export interface DecodedReply {
  command: number;
  requestId: number;
  status: number;
  error: string;
  scores: Float32Array | null;
  predicted: number;
  inferenceMs: number;
  queueMs: number;
  batchSize: number;
  modelVersion: number;
  stats: Stats | null;
  update: UpdateOffer | null;
  chunk: CodeChunk | null;
}

function replyFields(reply: Reply): Field[] {
  const fields: Field[] = [{ slot: COMMANDS_CMD, kind: I8, value: reply.command }];
  if (reply.requestId) {
    fields.push({ slot: COMMANDS_REQUEST_ID, kind: U32, value: reply.requestId });
  }
  if (reply.status) fields.push({ slot: COMMANDS_STATUS, kind: U8, value: reply.status });
  if (reply.error) fields.push({ slot: COMMANDS_ERROR, kind: STRING, value: reply.error });
  if (reply.scores) {
    fields.push({
      slot: COMMANDS_OUTPUT,
      kind: TABLE,
      value: [
        { slot: OUTPUT_F, kind: VEC_F32, value: reply.scores },
        { slot: OUTPUT_N, kind: U8, value: reply.scores.length },
        { slot: OUTPUT_TIMER_MS, kind: F32, value: reply.inferenceMs || 0 },
        { slot: OUTPUT_PREDICTED, kind: U8, value: reply.predicted || 0 },
        { slot: OUTPUT_QUEUE_MS, kind: F32, value: reply.queueMs || 0 },
        { slot: OUTPUT_BATCH_SIZE, kind: U16, value: reply.batchSize || 0 },
        { slot: OUTPUT_MODEL_VERSION, kind: U32, value: reply.modelVersion || 0 },
      ],
    });
  }
  const stats = reply.stats;
  if (stats) {
    fields.push({
      slot: COMMANDS_STATS,
      kind: TABLE,
      value: [
        { slot: STATS_VERSION, kind: U8, value: stats.version },
        { slot: STATS_FREQ, kind: U32, value: stats.freq },
        { slot: STATS_MODE, kind: I8, value: stats.mode },
        { slot: STATS_PARAMETERS, kind: U32, value: stats.parameters },
        { slot: STATS_SERVED, kind: U32, value: stats.served },
        { slot: STATS_MODEL, kind: STRING, value: stats.model },
        { slot: STATS_MODEL_VERSION, kind: U32, value: stats.modelVersion || 0 },
      ],
    });
  }
  return fields.concat(updateFields(reply));
}

/** Encodes a reply, size-prefixed with the identifier when `framed`. */
export function encodeReply(reply: Reply, framed: boolean): Uint8Array {
  return buildBuffer(replyFields(reply), framed ? FILE_IDENTIFIER : null);
}

/** Where an inference reply's values lie in its bytes, as `encodeReply` lays them out. */
export interface InferenceReplyLayout {
  /** The reply with every value 0 but its request id (1, so that the field is there): copy it, then fill. */
  bytes: Uint8Array;
  requestIdAt: number;
  /** The first score's float. */
  scoresAt: number;
  inferenceMsAt: number;
  predictedAt: number;
  queueMsAt: number;
  batchSizeAt: number;
  modelVersionAt: number;
}

/**
 * The layout of a reply answering an inference with a request id, no status
 * and `classes` scores (no error, stats, update or chunk): every such reply
 * has the same bytes but for its values, so a server can fill a copy instead
 * of building each one (`encodeReply` gives the same bytes).
 */
export function inferenceReplyLayout(framed: boolean, classes: number): InferenceReplyLayout {
  const fields = replyFields({
    command: Command.INFERENCE_OUTPUT,
    requestId: 1,
    scores: new Float32Array(classes),
  });
  const bytes = buildBuffer(fields, framed ? FILE_IDENTIFIER : null);
  const at = (list: Field[], slot: number) => list.find((f) => f.slot === slot)!;
  const output = at(fields, COMMANDS_OUTPUT).value as Field[];
  return {
    bytes,
    requestIdAt: at(fields, COMMANDS_REQUEST_ID).at!,
    scoresAt: at(output, OUTPUT_F).data!,
    inferenceMsAt: at(output, OUTPUT_TIMER_MS).at!,
    predictedAt: at(output, OUTPUT_PREDICTED).at!,
    queueMsAt: at(output, OUTPUT_QUEUE_MS).at!,
    batchSizeAt: at(output, OUTPUT_BATCH_SIZE).at!,
    modelVersionAt: at(output, OUTPUT_MODEL_VERSION).at!,
  };
}

/**
 * Encodes the reply legacy clients expect: a bare buffer of
 * exactly 96 bytes with `cmd`, `output_f`, `output_n` and `timer_ms` all
 * written, whatever their values (a builder that leaves out defaults makes
 * it 92 bytes when `timer_ms` is 0, and old clients drop that).
 */
export function encodeLegacyReply(scores: ArrayLike<number>, inferenceMs: number): Uint8Array {
  return buildBuffer([
    { slot: COMMANDS_CMD, kind: I8, value: Command.INFERENCE_OUTPUT },
    {
      slot: COMMANDS_OUTPUT,
      kind: TABLE,
      value: [
        { slot: OUTPUT_F, kind: VEC_F32, value: scores },
        { slot: OUTPUT_N, kind: U8, value: scores.length },
        { slot: OUTPUT_TIMER_MS, kind: F32, value: inferenceMs },
      ],
    },
  ], null);
}

/**
 * Decodes a reply from a buffer's bytes (a frame's payload, or a whole legacy
 * reply). `scores`, when given, receives the scores instead of a new array.
 */
export function decodeReply(bytes: Uint8Array, scores?: Float32Array): DecodedReply | WireError {
  const r = new BufferReader(bytes);
  try {
    const root = r.root(0);
    const reply: DecodedReply = {
      command: r.scalar(root, COMMANDS_CMD, I8, 0),
      requestId: r.scalar(root, COMMANDS_REQUEST_ID, U32, 0),
      status: r.scalar(root, COMMANDS_STATUS, U8, 0),
      error: r.string(root, COMMANDS_ERROR),
      scores: null,
      predicted: 0,
      inferenceMs: 0,
      queueMs: 0,
      batchSize: 0,
      modelVersion: 0,
      stats: null,
      update: null,
      chunk: null,
    };
    const output = r.child(root, COMMANDS_OUTPUT);
    if (output >= 0) {
      const at = r.vector(output, OUTPUT_F, 4);
      const n = at < 0 ? 0 : r.dv.getUint32(at, true);
      const out = scores && scores.length === n ? scores : new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = r.dv.getFloat32(at + 4 + 4 * i, true);
      reply.scores = out;
      reply.inferenceMs = r.scalar(output, OUTPUT_TIMER_MS, F32, 0);
      reply.predicted = r.scalar(output, OUTPUT_PREDICTED, U8, 0);
      reply.queueMs = r.scalar(output, OUTPUT_QUEUE_MS, F32, 0);
      reply.batchSize = r.scalar(output, OUTPUT_BATCH_SIZE, U16, 0);
      reply.modelVersion = r.scalar(output, OUTPUT_MODEL_VERSION, U32, 0);
    }
    const stats = r.child(root, COMMANDS_STATS);
    if (stats >= 0) {
      reply.stats = {
        version: r.scalar(stats, STATS_VERSION, U8, 0),
        freq: r.scalar(stats, STATS_FREQ, U32, 0),
        mode: r.scalar(stats, STATS_MODE, I8, 0),
        parameters: r.scalar(stats, STATS_PARAMETERS, U32, 0),
        served: r.scalar(stats, STATS_SERVED, U32, 0),
        model: r.string(stats, STATS_MODEL),
        modelVersion: r.scalar(stats, STATS_MODEL_VERSION, U32, 0),
      };
    }
    const update = r.child(root, COMMANDS_UPDATE);
    if (update >= 0) reply.update = readOffer(r, update);
    const chunk = r.child(root, COMMANDS_CHUNK);
    if (chunk >= 0) reply.chunk = readChunk(r, chunk);
    return reply;
  } catch (e) {
    if (e instanceof WireError) return e;
    throw e;
  }
}
