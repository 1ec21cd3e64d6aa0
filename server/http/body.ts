/**
 * Reads an HTTP request's body with a limit that holds while it is read: a
 * declared `Content-Length` over the limit is refused before a byte is read,
 * and a chunked or compressed body is counted chunk by chunk, so a client
 * cannot make the server hold more than the limit. `Content-Encoding: gzip`
 * and `deflate` (as Triton accepts) are inflated on the way, and the limit
 * applies to the inflated bytes.
 *
 * @example
 * ```ts
 * import { readBody } from "./body.ts";
 *
 * const body = await readBody(new Request("http://x/", { method: "POST", body: "{}" }), 1024);
 * console.log(body); // Uint8Array(2) [ 123, 125 ]
 * ```
 * @module
 */
import { Status, WireError } from "../../shared/errors.ts";

/** The compressions a request body may come in, as `DecompressionStream` names them. */
const ENCODINGS: Record<string, CompressionFormat> = { gzip: "gzip", deflate: "deflate" };

/**
 * The body of `request`, at most `max` bytes (after inflating), or the error
 * to answer: `FRAME_TOO_LARGE` over the limit, `MALFORMED_BUFFER` for an
 * unknown encoding or a body that cannot be read. With `inflate` false the
 * bytes are read as they came, compressed or not, and `max` limits those.
 */
export async function readBody(
  request: Request,
  max: number,
  inflate = true,
): Promise<Uint8Array | WireError> {
  const tooLarge = (size: string) =>
    new WireError(Status.FRAME_TOO_LARGE, `the body is ${size} bytes; the limit is ${max}`);
  const encoding = inflate
    ? (request.headers.get("content-encoding") ?? "identity").trim().toLowerCase()
    : "identity";
  const format = ENCODINGS[encoding];
  if (format === undefined && encoding !== "identity" && encoding !== "") {
    return new WireError(
      Status.MALFORMED_BUFFER,
      `Content-Encoding ${JSON.stringify(encoding)} is not supported (gzip, deflate or none)`,
    );
  }
  const length = request.headers.get("content-length");
  if (format === undefined && length !== null && /^\d+$/.test(length) && Number(length) > max) {
    await request.body?.cancel();
    return tooLarge(length);
  }
  if (!request.body) return new Uint8Array(0);
  // A declared length within the limit is all the body can hold (HTTP/1.1
  // frames it): read in one go, cheaper than chunk by chunk.
  if (format === undefined && length !== null && /^\d+$/.test(length)) {
    try {
      return new Uint8Array(await request.arrayBuffer());
    } catch (e) {
      return new WireError(
        Status.MALFORMED_BUFFER,
        `the body could not be read: ${(e as Error).message}`,
      );
    }
  }
  const stream = format ? request.body.pipeThrough(new DecompressionStream(format)) : request.body;
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > max) {
        await reader.cancel();
        return tooLarge(`over ${max}`);
      }
      chunks.push(value);
    }
  } catch (e) {
    return new WireError(
      Status.MALFORMED_BUFFER,
      `the body could not be read${format ? ` as ${encoding}` : ""}: ${(e as Error).message}`,
    );
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}
