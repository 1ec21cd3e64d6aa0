/**
 * The request a board sends, laid out at build time by the shared codec's
 * `InferenceRequestWriter` and shipped to the board as a template: the bytes
 * before the digit (base64), the buffer's size and where the request id,
 * the token and the digit go. Framed requests carry two optional strings,
 * laid out once and switched on and off in place through their vtable
 * entries: the 32-character `token` (when the board has one) and `client`
 * (the firmware's name and VERSION, on a connection's first request only). The board allocates the buffer once from it and refills the
 * id and the pixels in place, exactly as `InferenceRequestWriter.write` does,
 * without carrying the general FlatBuffer writer (1.8 KB of a 6 KB budget)
 * to lay out the same bytes every time.
 *
 * The firmware's `tcp_client.ts` does the refilling; the harness tests check
 * the bytes it sends (3,180 legacy, 936 framed with the client string) and the
 * server's answers. The board keeps one buffer, the framed request, for both
 * protocols: legacy sends its own head (`requestTemplate("legacy").head`)
 * and then the framed buffer's digit as floats.
 *
 * @example
 * ```ts
 * import { requestTemplate } from "./request.ts";
 *
 * const t = requestTemplate("framed");
 * console.log(t.size, t.digitAt, t.idAt); // 896 bytes; the digit and the id go at these offsets
 * ```
 * @module
 */
import { DIGIT_PIXELS, TOKEN_LENGTH } from "../shared/codec.ts";
import { InferenceRequestWriter } from "../shared/request_writer.ts";
import { MAX_RELEASE_ID } from "../shared/update_codec.ts";

/** A request laid out once: what the board needs to make and fill the buffer. */
export interface RequestTemplate {
  /** Bytes of the whole buffer. */
  size: number;
  /** The buffer's bytes before the digit (the id, where there is one, left 0), base64. */
  head: string;
  /** Where the digit's first value goes: a byte in framed mode, a float in legacy mode. */
  digitAt: number;
  /** Where the 32-bit request id goes; -1 in legacy mode, which has none. */
  idAt: number;
  /** Where the token's 32 characters go; -1 in legacy mode. */
  tokenAt: number;
  /**
   * Where the root table's vtable entry of the token is, and its value when
   * present: writing 0 there leaves the token out (absent), writing the value
   * puts it back. -1 and 0 in legacy mode. The template has it absent.
   */
  tokenSlotAt: number;
  tokenSlot: number;
  /** The same for `client`, which goes only with a connection's first request. */
  clientSlotAt: number;
  clientSlot: number;
  /**
   * The same for `device`, which points at the token's characters: a board
   * without a token writes its `getSerial()` and its length there and sends
   * it with `client`.
   */
  deviceSlotAt: number;
  deviceSlot: number;
  /**
   * The update request laid over the same buffer (framed update templates only; see
   * `UpdateLayout`): where the command byte is, and the vtable entries the
   * board switches between an inference request and an update request.
   */
  update: UpdateLayout | null;
}

/**
 * How the board turns its request buffer into a `CMD_CODE_CHUNK` or
 * `CMD_UPDATE_REPORT` request without a second buffer: the root table
 * already holds the `error`, `update` and `chunk` offsets (absent through
 * their vtable entries), pointing into the digit's bytes, where the board
 * writes `head` and then the fields. One table serves as both the
 * `UpdateOffer` (release, size, state) and the `CodeChunk` (release,
 * offset): their slots 0 and 1 agree, and a chunk has no slot 4. The
 * frame then ends at `DIGIT_AT + end`: the digit is not sent.
 */
export interface UpdateLayout {
  /** The root table's `cmd` byte. */
  cmdAt: number;
  /** Vtable entries and their values when present: input (inference only), error, update, chunk. */
  inputSlotAt: number;
  inputSlot: number;
  errorSlotAt: number;
  errorSlot: number;
  updateSlotAt: number;
  updateSlot: number;
  chunkSlotAt: number;
  chunkSlot: number;
  /** The bytes the digit's place starts with in an update request (vtable, table, release offset), base64. */
  head: string;
  /** From the digit's first byte: the 32-bit offset (or size), the state byte, the two strings (length, then text). */
  offsetAt: number;
  stateAt: number;
  releaseAt: number;
  errorAt: number;
  /** From the digit's first byte: where the update request's frame ends. */
  end: number;
}

/** The longest failure reason an update request carries (its release id: `MAX_RELEASE_ID`). */
export const REASON_MAX = 31;

/**
 * The template of a request: framed (size-prefixed, digit as bytes, with a
 * token to fill in and the `client` string) or legacy (bare, floats).
 * `updates` (framed only) adds what the board needs to send update requests
 * over the same buffer (`UpdateLayout`), for update builds.
 */
export function requestTemplate(
  protocol: "framed" | "legacy",
  client = "",
  updates = false,
): RequestTemplate {
  const framed = protocol === "framed";
  const writer = new InferenceRequestWriter(
    framed,
    framed,
    framed ? { token: TOKEN_LENGTH, client, deviceInToken: true, updates } : undefined,
  );
  const bytes = writer.write(0, new Uint8Array(DIGIT_PIXELS)).slice();
  const dv = new DataView(bytes.buffer);
  // The root table's vtable: root offset (after the size prefix), then the table's back offset.
  const rootAt = framed ? 4 : 0;
  const table = rootAt + dv.getUint32(rootAt, true);
  const vtable = table - dv.getInt32(table, true);
  const tokenSlotAt = writer.tokenAt < 0 ? -1 : vtable + 4 + 2 * COMMANDS_TOKEN_SLOT;
  const clientSlotAt = writer.clientAt < 0 ? -1 : vtable + 4 + 2 * COMMANDS_CLIENT_SLOT;
  const deviceSlotAt = writer.deviceFieldAt < 0 ? -1 : vtable + 4 + 2 * COMMANDS_DEVICE_SLOT;
  const deviceSlot = deviceSlotAt < 0 ? 0 : dv.getUint16(deviceSlotAt, true);
  if (deviceSlotAt >= 0) dv.setUint16(deviceSlotAt, 0, true);
  const update = framed && updates ? updateLayout(writer, bytes, vtable, table) : null;
  const tokenSlot = tokenSlotAt < 0 ? 0 : dv.getUint16(tokenSlotAt, true);
  const clientSlot = clientSlotAt < 0 ? 0 : dv.getUint16(clientSlotAt, true);
  // Both absent in the template: the board puts them in when it has them.
  if (tokenSlotAt >= 0) dv.setUint16(tokenSlotAt, 0, true);
  if (clientSlotAt >= 0) dv.setUint16(clientSlotAt, 0, true);
  return {
    size: bytes.length,
    head: btoa(String.fromCharCode(...bytes.subarray(0, writer.digitAt))),
    digitAt: writer.digitAt,
    idAt: writer.idAt,
    tokenAt: writer.tokenAt,
    tokenSlotAt,
    tokenSlot,
    clientSlotAt,
    clientSlot,
    deviceSlotAt,
    deviceSlot,
    update,
  };
}

/**
 * Points the root table's `error`, `update` and `chunk` offsets into the
 * digit's place and lays out what goes there (see `UpdateLayout`); leaves
 * the three absent and the input present in `bytes`.
 */
function updateLayout(
  writer: InferenceRequestWriter,
  bytes: Uint8Array,
  vtable: number,
  table: number,
): UpdateLayout {
  const dv = new DataView(bytes.buffer);
  const slotAt = (slot: number) => vtable + 4 + 2 * slot;
  // The tail, from the digit's first byte D (4-aligned): a vtable of five
  // slots (release, size or offset, -, -, state), the table, then the strings.
  const head = new Uint8Array(24);
  const hv = new DataView(head.buffer);
  const tableAt = 16;
  const releaseAt = 32;
  const errorAt = releaseAt + 4 + MAX_RELEASE_ID + 1;
  [14, 16, 4, 8, 0, 0, 12].forEach((v, i) => hv.setUint16(2 * i, v, true));
  hv.setInt32(tableAt, tableAt, true);
  hv.setUint32(tableAt + 4, releaseAt - (tableAt + 4), true);
  const d = writer.digitAt;
  const [errorField, updateField, chunkField] = writer.updateFieldsAt;
  dv.setUint32(errorField, d + errorAt - errorField, true);
  dv.setUint32(updateField, d + tableAt - updateField, true);
  dv.setUint32(chunkField, d + tableAt - chunkField, true);
  const layout: UpdateLayout = {
    cmdAt: table + dv.getUint16(slotAt(COMMANDS_CMD_SLOT), true),
    inputSlotAt: slotAt(COMMANDS_INPUT_SLOT),
    inputSlot: dv.getUint16(slotAt(COMMANDS_INPUT_SLOT), true),
    errorSlotAt: slotAt(COMMANDS_ERROR_SLOT),
    errorSlot: dv.getUint16(slotAt(COMMANDS_ERROR_SLOT), true),
    updateSlotAt: slotAt(COMMANDS_UPDATE_SLOT),
    updateSlot: dv.getUint16(slotAt(COMMANDS_UPDATE_SLOT), true),
    chunkSlotAt: slotAt(COMMANDS_CHUNK_SLOT),
    chunkSlot: dv.getUint16(slotAt(COMMANDS_CHUNK_SLOT), true),
    head: btoa(String.fromCharCode(...head)),
    offsetAt: tableAt + 8,
    stateAt: tableAt + 12,
    releaseAt,
    errorAt,
    end: errorAt + 4 + REASON_MAX + 1,
  };
  for (const at of [layout.errorSlotAt, layout.updateSlotAt, layout.chunkSlotAt]) {
    dv.setUint16(at, 0, true);
  }
  // The board writes slot values and the command as single bytes.
  for (const v of [layout.inputSlot, layout.errorSlot, layout.updateSlot, layout.chunkSlot]) {
    if (v > 255) throw new Error("a root table field lies beyond 255 bytes");
  }
  return layout;
}

/** Slots of `Commands` in `shared/schema/mnist.fbs` (the contracts' table). */
const COMMANDS_TOKEN_SLOT = 7;
const COMMANDS_CLIENT_SLOT = 9;
const COMMANDS_DEVICE_SLOT = 10;
const COMMANDS_CMD_SLOT = 0;
const COMMANDS_INPUT_SLOT = 2;
const COMMANDS_ERROR_SLOT = 6;
const COMMANDS_UPDATE_SLOT = 11;
const COMMANDS_CHUNK_SLOT = 12;
