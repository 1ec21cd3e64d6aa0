/**
 * The load generator's socket reads and writes (`load.ts` runs the
 * clients): a whole write, one framed reply, one legacy reply (everything
 * until the server closes; an inference reply must be 96 bytes), a quiet
 * close, and the names of the failures they end in, for the errors table.
 *
 * @example
 * ```ts
 * import { errorKind, RequestFailure } from "./load_wire.ts";
 *
 * console.log(errorKind(new RequestFailure("TIMEOUT"))); // TIMEOUT
 * console.log(errorKind(new Deno.errors.ConnectionRefused("refused"))); // CONNECTION_REFUSED
 * ```
 * @module
 */
import { Command, LEGACY_REPLY_LENGTH } from "../shared/codec.ts";
import { type DecodedReply, decodeReply } from "../shared/reply_codec.ts";
import { WireError } from "../shared/errors.ts";
import type { FrameDecoder } from "../shared/frame.ts";

/** Why a request failed, for the `errors` table. */
export function errorKind(e: unknown): string {
  if (e instanceof RequestFailure) return e.kind;
  const name = e instanceof Error ? e.name : "Error";
  // Deno.errors.ConnectionRefused -> CONNECTION_REFUSED
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** A failure the runner itself names. */
export class RequestFailure extends Error {
  kind: string;
  constructor(kind: string) {
    super(kind);
    this.kind = kind;
  }
}

/** Closes a connection that may be closed already. */
export function closeQuietly(conn: Deno.Conn | null): void {
  if (!conn) return;
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** Reads one framed reply. */
export async function readFrame(
  conn: Deno.Conn,
  frames: FrameDecoder,
  buf: Uint8Array,
  scores: Float32Array,
): Promise<DecodedReply | WireError> {
  for (;;) {
    const payload = frames.next();
    if (payload instanceof WireError) return payload;
    if (payload !== null) return decodeReply(payload, scores);
    const n = await conn.read(buf);
    if (n === null) throw new RequestFailure("CLOSED_BEFORE_REPLY");
    frames.push(buf.subarray(0, n));
  }
}

/** Reads a legacy reply: everything until the server closes; an inference reply must be 96 bytes. */
export async function readLegacy(
  conn: Deno.Conn,
  buf: Uint8Array,
  scores: Float32Array,
): Promise<DecodedReply | WireError> {
  let got = 0;
  for (;;) {
    const n = await conn.read(buf.subarray(got));
    if (n === null) break;
    got += n;
    if (got === buf.length) throw new RequestFailure("REPLY_TOO_LONG");
  }
  if (got === 0) throw new RequestFailure("CLOSED_BEFORE_REPLY");
  const reply = decodeReply(buf.subarray(0, got), scores);
  if (
    !(reply instanceof WireError) && reply.command === Command.INFERENCE_OUTPUT &&
    got !== LEGACY_REPLY_LENGTH
  ) {
    throw new RequestFailure("BAD_LEGACY_LENGTH");
  }
  return reply;
}
