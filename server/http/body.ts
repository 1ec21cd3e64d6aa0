/**
 * Reads an HTTP request's body with a limit that holds while it is read: a
 * declared `Content-Length` over the limit is refused before a byte is read,
 * and a chunked or compressed body is counted chunk by chunk, so a client
 * cannot make the server hold more than the limit. `Content-Encoding: gzip`
 * and `deflate` (as Triton accepts) are inflated on the way, and the limit
 * applies to the inflated bytes. A budget shared with other connections
 * (`--max-buffered-bytes`) is charged for each chunk held and paid back once
 * the body is read, so many slow uploads at once cannot hold more than it.
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
import { shown, Status, WireError } from "../../shared/errors.ts";
import { budgetSpent, type BufferBudget } from "../tcp/limits.ts";
import { DeadlineQueue } from "./deadline_queue.ts";

/** The compressions a request body may come in, as `DecompressionStream` names them. */
const ENCODINGS: Record<string, CompressionFormat> = { gzip: "gzip", deflate: "deflate" };

/** One queue (one timer) per deadline length: every body read with it shares it. */
const deadlineQueues = new Map<number, DeadlineQueue>();

function deadlinesOf(ms: number): DeadlineQueue {
  let queue = deadlineQueues.get(ms);
  if (!queue) deadlineQueues.set(ms, queue = new DeadlineQueue(ms));
  return queue;
}

/** How `readBody` reads. */
export interface BodyReading {
  /**
   * The whole body must arrive within this many milliseconds, else it is
   * cancelled and refused: a client that stops or drips mid-body holds no
   * memory and no request past it. Absent: no deadline.
   */
  timeoutMs?: number;
  /** Charged for the bytes held while the body arrives (`--max-buffered-bytes`); absent, no budget. */
  budget?: BufferBudget;
}

/**
 * The body of `request`, at most `max` bytes (after inflating), or the error
 * to answer: `FRAME_TOO_LARGE` over the limit, `MALFORMED_BUFFER` for an
 * unknown encoding, a body that cannot be read or one that did not arrive in
 * time (`reading.timeoutMs`), `SERVER_BUSY` when `reading.budget` is spent.
 */
export async function readBody(
  request: Request,
  max: number,
  reading: BodyReading = {},
): Promise<Uint8Array | WireError> {
  const tooLarge = (size: string) =>
    new WireError(Status.FRAME_TOO_LARGE, `the body is ${size} bytes; the limit is ${max}`);
  const encoding = (request.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  const format = ENCODINGS[encoding];
  if (format === undefined && encoding !== "identity" && encoding !== "") {
    return new WireError(
      Status.MALFORMED_BUFFER,
      `Content-Encoding ${shown(encoding)} is not supported (gzip, deflate or none)`,
    );
  }
  const header = request.headers.get("content-length");
  if (format === undefined && header !== null && /^\d+$/.test(header) && Number(header) > max) {
    await request.body?.cancel();
    return tooLarge(header);
  }
  if (!request.body) return new Uint8Array(0);
  const stream = format ? request.body.pipeThrough(new DecompressionStream(format)) : request.body;
  const reader = stream.getReader();
  // Cancelling ends a pending read (done), and the flag tells that end from the body's.
  let late = false;
  const deadlines = reading.timeoutMs === undefined ? null : deadlinesOf(reading.timeoutMs);
  const deadline = deadlines?.add(() => {
    late = true;
    reader.cancel().catch(() => {});
  });
  // Kept as they come, never a buffer of the declared size ahead: a client
  // that declares the limit and sends nothing makes the server hold nothing.
  const chunks: Uint8Array[] = [];
  let size = 0;
  const budget = reading.budget;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (late) {
        return new WireError(
          Status.MALFORMED_BUFFER,
          `the body did not arrive within ${reading.timeoutMs} ms (${size} bytes came)`,
        );
      }
      if (done) break;
      if (size + value.length > max) {
        await reader.cancel();
        return tooLarge(`over ${max}`);
      }
      if (budget && !budget.charge(value.length)) {
        await reader.cancel();
        return budgetSpent(budget);
      }
      size += value.length;
      chunks.push(value);
    }
  } catch (e) {
    return new WireError(
      Status.MALFORMED_BUFFER,
      `the body could not be read${format ? ` as ${encoding}` : ""}: ${(e as Error).message}`,
    );
  } finally {
    if (deadlines && deadline) deadlines.remove(deadline);
    // Read (or refused): no longer unfinished.
    budget?.charge(-size);
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
