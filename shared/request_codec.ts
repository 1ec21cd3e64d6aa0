/**
 * The request's codec, board to server: a board's `Request` encoded, and the
 * bytes a server receives decoded (`decodeRequest`), or read in part when
 * they do not decode whole (`peekRequestId`, `peekToken`, `peekModel`), so a
 * refusal still names its request, device and model. Decoders take untrusted
 * bytes and return a `WireError` value, never a wrong answer, when a buffer
 * is malformed.
 *
 * @example
 * ```ts
 * import { Command } from "./codec.ts";
 * import { decodeRequest, encodeRequest } from "./request_codec.ts";
 * import { WireError } from "./errors.ts";
 *
 * const frame = encodeRequest({ command: Command.INFERENCE_INPUT, requestId: 7, digitU8: new Uint8Array(784) }, true);
 * const request = decodeRequest(frame.subarray(4)); // the frame's payload
 * if (request instanceof WireError) throw new Error(request.message);
 * console.log(request.requestId, request.digitU8?.length); // 7 784
 * ```
 * @module
 */
import {
  BufferReader,
  buildBuffer,
  type Field,
  I8,
  STRING,
  TABLE,
  U32,
  VEC_F32,
  VEC_U8,
} from "./_flatbuffer.ts";
import {
  COMMANDS_CHUNK,
  COMMANDS_CLIENT,
  COMMANDS_CMD,
  COMMANDS_DEVICE,
  COMMANDS_ERROR,
  COMMANDS_INPUT,
  COMMANDS_MODEL,
  COMMANDS_REQUEST_ID,
  COMMANDS_TOKEN,
  COMMANDS_UPDATE,
  INPUT_DIGIT,
  INPUT_DIGIT_U8,
} from "./_slots.ts";
import { Command, DIGIT_PIXELS, FILE_IDENTIFIER } from "./codec.ts";
import { Status, WireError } from "./errors.ts";
import {
  type CodeChunk,
  readChunk,
  readOffer,
  updateFields,
  type UpdateOffer,
} from "./update_codec.ts";

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
