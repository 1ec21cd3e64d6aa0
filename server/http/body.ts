/**
 * Reads an HTTP request's body with a limit that holds while it is read: a
 * declared `Content-Length` over the limit is refused before a byte is read,
 * and a chunked or compressed body is counted chunk by chunk, so a client
 * cannot make the server hold more than the limit. `Content-Encoding: gzip`
 * and `deflate` (as Triton accepts) are inflated on the way, and the limit
 * applies to the inflated bytes. A listener Worker that passes a body on to
 * the main thread's routes reads it with `readBodyPrefix`: at most a cap, as
 * it came, and why it stops short when it does.
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
 * unknown encoding or a body that cannot be read.
 */
export async function readBody(
  request: Request,
  max: number,
): Promise<Uint8Array | WireError> {
  const tooLarge = (size: string) =>
    new WireError(Status.FRAME_TOO_LARGE, `the body is ${size} bytes; the limit is ${max}`);
  const encoding = (request.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
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
  try {
    const read = await readUpTo(stream, max);
    return read.over ? tooLarge(`over ${max}`) : joined(read.chunks, read.size);
  } catch (e) {
    return new WireError(
      Status.MALFORMED_BUFFER,
      `the body could not be read${format ? ` as ${encoding}` : ""}: ${(e as Error).message}`,
    );
  }
}

/**
 * What a listener Worker read of a body it passes on as it came (not
 * inflated): at most `max` bytes, and why they stop short of the whole body
 * (null: they are all of it). The main thread's routes read that again with
 * their own limits, lower than `max`, so they answer as in process.
 */
export interface BodyPrefix {
  bytes: Uint8Array;
  cut: string | null;
}

/** The first `max` bytes of `request`'s body as they came (`BodyPrefix`). */
export async function readBodyPrefix(request: Request, max: number): Promise<BodyPrefix> {
  if (!request.body) return { bytes: new Uint8Array(0), cut: null };
  const length = request.headers.get("content-length");
  if (length !== null && /^\d+$/.test(length) && Number(length) > max) {
    // Every route with a limit refuses this by its declared length before reading.
    await request.body.cancel();
    return { bytes: new Uint8Array(0), cut: `the body is ${length} bytes, over ${max}` };
  }
  try {
    const { chunks, size, over } = await readUpTo(request.body, max);
    return { bytes: joined(chunks, size), cut: over ? `the body is over ${max} bytes` : null };
  } catch (e) {
    return { bytes: new Uint8Array(0), cut: (e as Error).message };
  }
}

/**
 * Reads `stream` to its end or until it gives more than `max` bytes (then
 * `over`, the rest cancelled, `chunks` its first `max`); throws its error.
 */
async function readUpTo(
  stream: ReadableStream<Uint8Array>,
  max: number,
): Promise<{ chunks: Uint8Array[]; size: number; over: boolean }> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { chunks, size, over: false };
    if (size + value.length > max) {
      await reader.cancel();
      chunks.push(value.subarray(0, max - size));
      return { chunks, size: max, over: true };
    }
    size += value.length;
    chunks.push(value);
  }
}

/** `chunks` (`size` bytes in all) as one array. */
function joined(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}
