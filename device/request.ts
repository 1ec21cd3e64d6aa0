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
 * The firmware's `inference.ts` does the refilling; the harness tests check
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
import { DIGIT_PIXELS, InferenceRequestWriter } from "../shared/codec.ts";

/** Characters of a device token (fixed, so the template is filled in place). */
export const TOKEN_LENGTH = 32;

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
}

/**
 * The template of a request: framed (size-prefixed, digit as bytes, with a
 * token to fill in and the `client` string) or legacy (bare, floats).
 */
export function requestTemplate(protocol: "framed" | "legacy", client = ""): RequestTemplate {
  const framed = protocol === "framed";
  const writer = new InferenceRequestWriter(
    framed,
    framed,
    framed ? { token: TOKEN_LENGTH, client, deviceInToken: true } : undefined,
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
  };
}

/** Slots of `Commands` in `shared/schema/mnist.fbs` (the contracts' table). */
const COMMANDS_TOKEN_SLOT = 7;
const COMMANDS_CLIENT_SLOT = 9;
const COMMANDS_DEVICE_SLOT = 10;
