/**
 * A board's inference request, laid out once and refilled in place
 * (`InferenceRequestWriter`): the firmware's build lays its request buffer
 * out with it (`device/request.ts`), and load generators send every request
 * from one buffer. It gives the same bytes as `encodeRequest` in
 * `request_codec.ts` for the same fields.
 *
 * @example
 * ```ts
 * import { InferenceRequestWriter } from "./request_writer.ts";
 *
 * const writer = new InferenceRequestWriter(true, true); // framed, the digit as bytes
 * const frame = writer.write(1, new Uint8Array(784)); // the same buffer every time
 * console.log(frame.length, writer.digitAt);
 * ```
 * @module
 */
import { buildBuffer, type Field, I8, STRING, TABLE, U32, VEC_F32, VEC_U8 } from "./_flatbuffer.ts";
import {
  COMMANDS_CHUNK,
  COMMANDS_CLIENT,
  COMMANDS_CMD,
  COMMANDS_DEVICE,
  COMMANDS_ERROR,
  COMMANDS_INPUT,
  COMMANDS_REQUEST_ID,
  COMMANDS_TOKEN,
  COMMANDS_UPDATE,
  INPUT_DIGIT,
  INPUT_DIGIT_U8,
} from "./_slots.ts";
import { Command, DIGIT_PIXELS, FILE_IDENTIFIER } from "./codec.ts";

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
