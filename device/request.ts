/**
 * The request a board sends, laid out at build time by the shared codec's
 * `InferenceRequestWriter` and shipped to the board as a template: the bytes
 * before the digit (base64), the buffer's size and where the request id and
 * the digit go. The board allocates the buffer once from it and refills the
 * id and the pixels in place, exactly as `InferenceRequestWriter.write` does,
 * without carrying the general FlatBuffer writer (1.8 KB of a 6 KB budget)
 * to lay out the same bytes every time.
 *
 * The firmware's `inference.ts` does the refilling; the harness tests check
 * the bytes it sends (3,180 legacy, 848 framed) and the server's answers.
 *
 * @example
 * ```ts
 * import { requestTemplate } from "./request.ts";
 *
 * const t = requestTemplate("framed");
 * console.log(t.size, t.digitAt, t.idAt); // 848 bytes; the digit and the id go at these offsets
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
  return {
    size: bytes.length,
    head: btoa(String.fromCharCode(...bytes.subarray(0, writer.digitAt))),
    digitAt: writer.digitAt,
    idAt: writer.idAt,
  };
}
