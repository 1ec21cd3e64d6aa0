/**
 * The request a board sends, laid out at build time by the shared codec's
 * `InferenceRequestWriter` and shipped to the board as a template: the bytes
 * before the digit (base64), the buffer's size and where the request id and
 * the digit go. The board allocates the buffer once from it and refills the
 * id and the pixels in place, exactly as `InferenceRequestWriter.write` does,
 * without carrying the general FlatBuffer writer (1.8 KB of a 6 KB budget)
 * to lay out the same bytes every time.
 *
 * The tests compare the board's buffer with `InferenceRequestWriter`'s, byte
 * for byte, in both protocols.
 *
 * @example
 * ```ts
 * import { fillRequest, makeRequest, requestTemplate } from "./request.ts";
 * import { InferenceRequestWriter } from "../shared/codec.ts";
 *
 * const t = requestTemplate("framed");
 * const pixels = new Uint8Array(784).fill(255);
 * const head = Uint8Array.from(atob(t.head), (c) => c.charCodeAt(0));
 * const bytes = makeRequest(t.size, head);
 * fillRequest(bytes, t.digitAt, t.idAt, 7, pixels);
 * const oracle = new InferenceRequestWriter(true, true).write(7, pixels);
 * console.log(bytes.length === oracle.length); // true, and every byte is equal
 * ```
 * @module
 */
import { DIGIT_PIXELS, InferenceRequestWriter } from "../shared/codec.ts";

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
}

/** The template of a request: framed (size-prefixed, digit as bytes) or legacy (bare, floats). */
export function requestTemplate(protocol: "framed" | "legacy"): RequestTemplate {
  const framed = protocol === "framed";
  const writer = new InferenceRequestWriter(framed, framed);
  const bytes = writer.write(0, new Uint8Array(DIGIT_PIXELS));
  // The writer keeps where it writes in private fields; the tests check the result.
  const at = writer as unknown as { digitAt: number; idAt: number };
  return {
    size: bytes.length,
    head: btoa(String.fromCharCode(...bytes.subarray(0, at.digitAt))),
    digitAt: at.digitAt,
    idAt: at.idAt,
  };
}

/** On the board, once: a request buffer of `size` bytes that starts with `head`. */
export function makeRequest(size: number, head: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(size);
  bytes.set(head);
  return bytes;
}

/**
 * On the board, for every request: writes the id and the pixels (0..255) in
 * place, as `InferenceRequestWriter.write` does; floats when `idAt` is -1.
 */
export function fillRequest(
  bytes: Uint8Array,
  digitAt: number,
  idAt: number,
  id: number,
  pixels: ArrayLike<number>,
): void {
  const dv = new DataView(bytes.buffer);
  if (idAt < 0) {
    for (let i = 0; i < DIGIT_PIXELS; i++) dv.setFloat32(digitAt + 4 * i, pixels[i] / 255, true);
  } else {
    dv.setUint32(idAt, id, true);
    bytes.set(pixels as ArrayLike<number>, digitAt);
  }
}
