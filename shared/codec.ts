/**
 * The codec for every message between boards and the server: the `Commands`
 * FlatBuffer of `schema/mnist.fbs`, bare (legacy clients) or size-prefixed
 * with the `MNST` identifier (framed clients). The firmware bundles this very
 * file, so it is written in the subset the Espruino interpreter runs and uses
 * no Deno, Node or DOM API.
 *
 * Decoders take untrusted bytes and return a `WireError` value, never a wrong
 * answer, when a buffer is malformed.
 *
 * @example
 * ```ts
 * import { decodeReply, decodeRequest, encodeReply, encodeRequest, Command } from "./codec.ts";
 * import { WireError } from "./errors.ts";
 *
 * const frame = encodeRequest({ command: Command.INFERENCE_INPUT, requestId: 7, digitU8: new Uint8Array(784) }, true);
 * const request = decodeRequest(frame.subarray(4)); // the frame's payload
 * if (request instanceof WireError) throw new Error(request.message);
 * const reply = encodeReply({ command: Command.INFERENCE_OUTPUT, requestId: request.requestId, scores: new Float32Array(10) }, true);
 * console.log(decodeReply(reply.subarray(4)));
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
  VEC_U8,
} from "./_flatbuffer.ts";
import { Status, WireError } from "./errors.ts";
import {
  chunkFields,
  type CodeChunk,
  offerFields,
  readChunk,
  readOffer,
  type UpdateOffer,
} from "./update_codec.ts";

export { CHUNK_BYTES, type CodeChunk, type UpdateOffer, UpdateState } from "./update_codec.ts";

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

// Slots of each table, as in the schema.
const COMMANDS_CMD = 0;
const COMMANDS_STATS = 1;
const COMMANDS_INPUT = 2;
const COMMANDS_OUTPUT = 3;
const COMMANDS_REQUEST_ID = 4;
const COMMANDS_STATUS = 5;
const COMMANDS_ERROR = 6;
const COMMANDS_TOKEN = 7;
const COMMANDS_MODEL = 8;
const COMMANDS_CLIENT = 9;
const COMMANDS_DEVICE = 10;
const COMMANDS_UPDATE = 11;
const COMMANDS_CHUNK = 12;
const STATS_VERSION = 0;
const STATS_FREQ = 1;
const STATS_MODE = 2;
const STATS_PARAMETERS = 3;
const STATS_SERVED = 4;
const STATS_MODEL = 5;
const STATS_MODEL_VERSION = 6;
const INPUT_DIGIT = 0;
const INPUT_DIGIT_U8 = 1;
const OUTPUT_F = 0;
const OUTPUT_N = 1;
const OUTPUT_TIMER_MS = 2;
const OUTPUT_PREDICTED = 3;
const OUTPUT_QUEUE_MS = 4;
const OUTPUT_BATCH_SIZE = 5;
const OUTPUT_MODEL_VERSION = 6;

/** A request from a board: a command and, for inference, one digit as floats or bytes. */
export interface Request {
  command: number;
  requestId?: number;
  /** 784 floats in 0..1. */
  digit?: ArrayLike<number> | null;
  /** 784 bytes in 0..255. */
  digitU8?: ArrayLike<number> | null;
  /** The device's token (tokens on). */
  token?: string;
  /** The model to ask; absent means the server's default. */
  model?: string;
  /** Firmware name and version, on a connection's first request. */
  client?: string;
  /** The board's stable id (`getSerial()`), on a connection's first request. */
  device?: string;
  /** A report's reason (`UPDATE_REPORT`). */
  error?: string;
  /** The update reported on (`UPDATE_REPORT`, with `state`). */
  update?: UpdateOffer | null;
  /** The chunk asked for (`CODE_CHUNK`: release and offset). */
  chunk?: CodeChunk | null;
}

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

/** A decoded request; at most one of `digit` and `digitU8` is set, each exactly 784 long. */
export interface DecodedRequest {
  command: number;
  requestId: number;
  digit: Float32Array | null;
  digitU8: Uint8Array | null;
  /** "" when absent, as are `model`, `client` and `device`. */
  token: string;
  model: string;
  client: string;
  device: string;
  /** A report's reason; absent unless the request carries one. */
  error?: string;
  /** Set for `UPDATE_REPORT`. */
  update?: UpdateOffer | null;
  /** Set for `CODE_CHUNK`. */
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

function requestFields(request: Request): Field[] {
  const fields: Field[] = [{ slot: COMMANDS_CMD, kind: I8, value: request.command }];
  if (request.requestId) {
    fields.push({ slot: COMMANDS_REQUEST_ID, kind: U32, value: request.requestId });
  }
  const input: Field[] = [];
  if (request.digit) input.push({ slot: INPUT_DIGIT, kind: VEC_F32, value: request.digit });
  if (request.digitU8) input.push({ slot: INPUT_DIGIT_U8, kind: VEC_U8, value: request.digitU8 });
  if (input.length) fields.push({ slot: COMMANDS_INPUT, kind: TABLE, value: input });
  if (request.token) fields.push({ slot: COMMANDS_TOKEN, kind: STRING, value: request.token });
  if (request.model) fields.push({ slot: COMMANDS_MODEL, kind: STRING, value: request.model });
  if (request.client) fields.push({ slot: COMMANDS_CLIENT, kind: STRING, value: request.client });
  if (request.device) fields.push({ slot: COMMANDS_DEVICE, kind: STRING, value: request.device });
  if (request.error) fields.push({ slot: COMMANDS_ERROR, kind: STRING, value: request.error });
  return fields.concat(updateFields(request));
}

/**
 * Encodes a request: size-prefixed with the identifier when `framed`, else a
 * bare buffer as legacy clients sent.
 */
export function encodeRequest(request: Request, framed: boolean): Uint8Array {
  return buildBuffer(requestFields(request), framed ? FILE_IDENTIFIER : null);
}

/**
 * An inference request laid out once and refilled in place, so a board sends
 * every request from the same buffer: `write()` allocates nothing.
 */
export class InferenceRequestWriter {
  bytes: Uint8Array;
  private dv: DataView;
  /** Where the digit's first value goes. */
  readonly digitAt: number;
  /** Where the request id goes; -1 in a legacy request, which has none. */
  readonly idAt: number;
  private u8: boolean;

  /** Where the token's first character goes; -1 without one. */
  readonly tokenAt: number;
  /** Where the client string's first character is; -1 without one. */
  readonly clientAt: number;
  /**
   * Where the `device` field's offset is (its vtable entry is the table's
   * slot 10); -1 without one. The field points at the token's string.
   */
  readonly deviceFieldAt: number;
  /**
   * With `updates`: where the root table's `error`, `update` and `chunk`
   * offsets are (slots 6, 11, 12), left 0 for the caller to point at tables
   * of its own; empty without.
   */
  readonly updateFieldsAt: number[];

  /**
   * `framed` picks the protocol; `u8` sends the digit as bytes (framed only)
   * instead of floats. `strings` (framed only) adds a `token` of that many
   * characters, left as spaces to fill in, and a `client` string; both
   * come before the digit, so the digit stays the buffer's last part.
   * `deviceInToken` adds a `device` field that points at the token's
   * characters: a board without a token writes its id (and the string's
   * length) there, so the id costs the request no bytes of its own.
   * `updates` (framed only) adds the `error`, `update` and `chunk` offsets as
   * placeholders, so a board can turn the same buffer into an update request.
   */
  constructor(
    framed: boolean,
    u8: boolean,
    strings?: { token?: number; client?: string; deviceInToken?: boolean; updates?: boolean },
  ) {
    this.u8 = u8;
    const digit: Field = {
      slot: u8 ? INPUT_DIGIT_U8 : INPUT_DIGIT,
      kind: u8 ? VEC_U8 : VEC_F32,
      value: DIGIT_PIXELS,
    };
    const id: Field = { slot: COMMANDS_REQUEST_ID, kind: U32, value: 0 };
    const fields: Field[] = [{ slot: COMMANDS_CMD, kind: I8, value: Command.INFERENCE_INPUT }];
    const token: Field = { slot: COMMANDS_TOKEN, kind: STRING, value: "" };
    const client: Field = { slot: COMMANDS_CLIENT, kind: STRING, value: "" };
    // A uoffset written as a plain u32 once the token's string has its place.
    const device: Field = { slot: COMMANDS_DEVICE, kind: U32, value: 0 };
    const sharesToken = framed && !!strings?.token && !!strings.deviceInToken;
    if (framed && strings?.token) {
      token.value = " ".repeat(strings.token);
      fields.push(token);
    }
    if (framed && strings?.client) {
      client.value = strings.client;
      fields.push(client);
    }
    if (sharesToken) fields.push(device);
    const updates: Field[] = [];
    if (framed && strings?.updates) {
      for (const slot of [COMMANDS_ERROR, COMMANDS_UPDATE, COMMANDS_CHUNK]) {
        updates.push({ slot, kind: U32, value: 0 });
        fields.push(updates[updates.length - 1]);
      }
    }
    fields.push({ slot: COMMANDS_INPUT, kind: TABLE, value: [digit] });
    if (framed) fields.push(id);
    this.bytes = buildBuffer(fields, framed ? FILE_IDENTIFIER : null);
    this.dv = new DataView(this.bytes.buffer);
    this.digitAt = digit.data as number;
    this.idAt = framed ? id.at as number : -1;
    this.tokenAt = token.value ? token.data as number : -1;
    this.clientAt = client.value ? client.data as number : -1;
    this.deviceFieldAt = sharesToken ? device.at as number : -1;
    this.updateFieldsAt = [];
    for (const f of updates) this.updateFieldsAt.push(f.at as number);
    // The string starts with its length, 4 bytes before its first character.
    if (sharesToken) {
      this.dv.setUint32(this.deviceFieldAt, this.tokenAt - 4 - this.deviceFieldAt, true);
    }
  }

  /** Fills in the request id and the 784 pixels (bytes 0..255); returns the buffer to send. */
  write(requestId: number, pixels: ArrayLike<number>): Uint8Array {
    if (this.idAt >= 0) this.dv.setUint32(this.idAt, requestId, true);
    const at = this.digitAt;
    if (this.u8) {
      for (let i = 0; i < DIGIT_PIXELS; i++) this.bytes[at + i] = pixels[i];
    } else {
      for (let i = 0; i < DIGIT_PIXELS; i++) this.dv.setFloat32(at + 4 * i, pixels[i] / 255, true);
    }
    return this.bytes;
  }
}

/**
 * Decodes a request from a buffer's bytes (a frame's payload, after the size
 * prefix, or a whole legacy message). A malformed buffer, an unknown command
 * or a digit of the wrong length comes back as a `WireError`.
 */
export function decodeRequest(bytes: Uint8Array): DecodedRequest | WireError {
  const r = new BufferReader(bytes);
  try {
    const root = r.root(0);
    const command = r.scalar(root, COMMANDS_CMD, I8, Command.GET_STATS);
    const requestId = r.scalar(root, COMMANDS_REQUEST_ID, U32, 0);
    const request: DecodedRequest = {
      command: command,
      requestId: requestId,
      digit: null,
      digitU8: null,
      token: r.string(root, COMMANDS_TOKEN),
      model: r.string(root, COMMANDS_MODEL),
      client: r.string(root, COMMANDS_CLIENT),
      device: r.string(root, COMMANDS_DEVICE),
    };
    if (command === Command.GET_STATS) return request;
    if (command === Command.CODE_CHUNK || command === Command.UPDATE_REPORT) {
      return readUpdateRequest(r, root, request);
    }
    if (command !== Command.INFERENCE_INPUT) {
      return new WireError(
        Status.UNKNOWN_COMMAND,
        "command " + command + " is not one this server answers",
      );
    }
    const input = r.child(root, COMMANDS_INPUT);
    const floats = input < 0 ? -1 : r.vector(input, INPUT_DIGIT, 4);
    const bytesAt = input < 0 ? -1 : r.vector(input, INPUT_DIGIT_U8, 1);
    if ((floats < 0) === (bytesAt < 0)) {
      return new WireError(
        Status.BAD_DIGIT_LENGTH,
        floats < 0 ? "the request carries no digit" : "the request carries both digit and digit_u8",
      );
    }
    const at = floats >= 0 ? floats : bytesAt;
    const n = r.dv.getUint32(at, true);
    if (n !== DIGIT_PIXELS) {
      return new WireError(
        Status.BAD_DIGIT_LENGTH,
        "the digit has " + n + " values, expected " + DIGIT_PIXELS,
      );
    }
    if (bytesAt >= 0) {
      request.digitU8 = bytes.subarray(at + 4, at + 4 + n);
    } else {
      const digit = new Float32Array(n);
      for (let i = 0; i < n; i++) digit[i] = r.dv.getFloat32(at + 4 + 4 * i, true);
      request.digit = digit;
    }
    return request;
  } catch (e) {
    if (e instanceof WireError) return e;
    throw e;
  }
}

/**
 * The request id of a message that `decodeRequest` refused, when it can be
 * read (0 otherwise), so an error reply still names the request it answers.
 */
export function peekRequestId(bytes: Uint8Array): number {
  const r = new BufferReader(bytes);
  try {
    return r.scalar(r.root(0), COMMANDS_REQUEST_ID, U32, 0);
  } catch (e) {
    if (e instanceof WireError) return 0;
    throw e;
  }
}

/**
 * The token of a request that may not decode whole (no digit, an unknown
 * command), or "" when it cannot be read: a refusal counts against the
 * device it names.
 */
export function peekToken(bytes: Uint8Array): string {
  return peekString(bytes, COMMANDS_TOKEN);
}

/**
 * The model a request that may not decode whole names ("" for the default,
 * or when it cannot be read): a refusal counts against that model when it is
 * served, never against the default in its place.
 */
export function peekModel(bytes: Uint8Array): string {
  return peekString(bytes, COMMANDS_MODEL);
}

/** A string field of the root table, or "" when it cannot be read. */
function peekString(bytes: Uint8Array, slot: number): string {
  const r = new BufferReader(bytes);
  try {
    return r.string(r.root(0), slot);
  } catch (e) {
    if (e instanceof WireError) return "";
    throw e;
  }
}

/**
 * A chunk request's `chunk` or a report's `update` (and its reason); a
 * `BAD_UPDATE` error when the table the command needs is missing.
 */
function readUpdateRequest(
  r: BufferReader,
  root: number,
  request: DecodedRequest,
): DecodedRequest | WireError {
  const chunk = request.command === Command.CODE_CHUNK;
  const table = r.child(root, chunk ? COMMANDS_CHUNK : COMMANDS_UPDATE);
  if (table < 0) {
    return new WireError(
      Status.BAD_UPDATE,
      chunk ? "a chunk request carries no chunk" : "an update report carries no update",
    );
  }
  if (chunk) request.chunk = readChunk(r, table);
  else request.update = readOffer(r, table);
  request.error = r.string(root, COMMANDS_ERROR);
  return request;
}

/** The `update` and `chunk` fields of a request or reply, when set. */
function updateFields(message: Request | Reply): Field[] {
  const fields: Field[] = [];
  if (message.update) {
    fields.push({ slot: COMMANDS_UPDATE, kind: TABLE, value: offerFields(message.update) });
  }
  if (message.chunk) {
    fields.push({ slot: COMMANDS_CHUNK, kind: TABLE, value: chunkFields(message.chunk) });
  }
  return fields;
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
