/**
 * Message boundaries on a byte stream. TCP delivers bytes in pieces of any
 * size (the ESP8266 sends 268-byte pieces), so both ends must find where a
 * message ends before decoding it.
 *
 * - Framed mode: each message is a size-prefixed FlatBuffer, a 4-byte
 *   little-endian length followed by that many bytes whose bytes 4..7 are the
 *   file identifier `MNST`. `FrameDecoder` cuts frames out of the stream.
 * - Legacy mode: a bare FlatBuffer with no length. `legacyMessageEnd` finds
 *   its end from its own offsets (root, vtable, input table, digit vector).
 *
 * One port serves both: `detectFraming` tells them apart from the first 12
 * bytes of a connection (framed when bytes 8..11 are `MNST`).
 *
 * Server-side and tools only: the firmware cuts frames itself in
 * `device/inference.ts` (bundling `FrameDecoder` cost it too many variables),
 * so this file is free to use the whole language.
 *
 * @example
 * ```ts
 * import { FrameDecoder } from "./frame.ts";
 * import { WireError } from "./errors.ts";
 *
 * const frames = new FrameDecoder(16384);
 * frames.push(new Uint8Array([12, 0, 0, 0, 8, 0, 0, 0, 77, 78, 83, 84]));
 * frames.push(new Uint8Array([4, 0, 4, 0]));
 * const payload = frames.next(); // the 12 bytes after the length
 * if (payload instanceof WireError) throw new Error(payload.message);
 * ```
 * @module
 */
import { Status, WireError } from "./errors.ts";

/** Bytes of the length prefix. */
export const FRAME_HEADER = 4;
/** The file identifier framed buffers carry after their root offset. */
export const FRAME_IDENTIFIER = "MNST";
/** The smallest payload: a root offset and the identifier. */
const MIN_PAYLOAD = 8;

/** Whether bytes `at..at+3` spell the identifier. */
function hasIdentifier(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < 4; i++) {
    if (bytes[at + i] !== FRAME_IDENTIFIER.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Which protocol a connection speaks, from its first bytes: "framed" when
 * bytes 8..11 spell `MNST` (after a length and a root offset), "legacy"
 * otherwise, or null while fewer than 12 bytes have arrived.
 */
export function detectFraming(bytes: Uint8Array): "framed" | "legacy" | null {
  if (bytes.length < 12) return null;
  return hasIdentifier(bytes, 8) ? "framed" : "legacy";
}

/**
 * Cuts size-prefixed frames out of a byte stream. Push pieces as they arrive,
 * then call `next()` until it returns null. The buffer grows up to one whole
 * frame and is reused, so steady traffic allocates nothing.
 */
export class FrameDecoder {
  private buf: Uint8Array;
  private start: number;
  private end: number;
  private max: number;
  private initial: number;

  /** `maxFrame` is the largest payload accepted; `initial` the starting buffer size. */
  constructor(maxFrame: number, initial?: number) {
    this.max = maxFrame;
    this.initial = initial || Math.min(maxFrame + FRAME_HEADER, 4096);
    this.buf = new Uint8Array(this.initial);
    this.start = 0;
    this.end = 0;
  }

  /** Bytes received and not yet returned as frames. */
  get buffered(): number {
    return this.end - this.start;
  }

  /**
   * Bytes still to come of the frame under way: 0 between frames and while
   * its length has not arrived (nor can it be read: `next()` says why).
   */
  get missing(): number {
    const have = this.end - this.start;
    if (have < FRAME_HEADER) return 0;
    const length = this.length(this.start);
    return length <= this.max ? Math.max(0, FRAME_HEADER + length - have) : 0;
  }

  /** Appends a piece of the stream. */
  push(chunk: Uint8Array): void {
    this.space(chunk.length).set(chunk);
    this.end += chunk.length;
  }

  /**
   * A view of at least `min` free bytes after those buffered, to read the
   * stream into directly (then `commit`), with no buffer of its own between
   * the socket and the decoder; it may be longer. Pending bytes move to the
   * front, and the buffer grows only if that is not enough (an empty buffer
   * that grew for a burst shrinks back). Payloads returned earlier are
   * invalid after this, as after `push`.
   */
  space(min: number): Uint8Array {
    const pending = this.end - this.start;
    const size = this.capacityFor(min);
    if (size !== this.buf.length || this.end + min > size) {
      // Move what is pending to the front, into a new buffer if the size changes.
      const buf = size === this.buf.length ? this.buf : new Uint8Array(size);
      buf.set(this.buf.subarray(this.start, this.end), 0);
      this.buf = buf;
      this.start = 0;
      this.end = pending;
    }
    return this.buf.subarray(this.end);
  }

  /** Bytes that fit after those buffered without a bigger buffer. */
  get free(): number {
    return this.buf.length - (this.end - this.start);
  }

  /** The buffer's size now: the memory this decoder holds. */
  get capacity(): number {
    return this.buf.length;
  }

  /** The buffer's size after `space(min)`, to weigh it before asking. */
  capacityFor(min: number): number {
    const pending = this.end - this.start;
    const size = this.buf.length;
    if (pending === 0 && size > 4 * this.initial && min <= this.initial) return this.initial;
    // Exactly what is asked (in whole KB), not doubled: the buffer is memory
    // the server's budget counts, and one frame needs no more than itself.
    return size >= pending + min ? size : (pending + min + 1023) & ~1023;
  }

  /** Counts `n` bytes written at the start of the last `space()` as received. */
  commit(n: number): void {
    this.end += n;
  }

  /** The little-endian length prefix at `at` (`>>> 0` keeps a length with the top bit set positive). */
  private length(at: number): number {
    const b = this.buf;
    return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
  }

  /**
   * The next whole frame's payload (the bytes after the length, valid until
   * the next `push`), null when more bytes are needed, or a `WireError` when
   * the stream cannot be framed: the length is over the limit or too small, or
   * the identifier is missing. After an error the stream is out of step and
   * the connection should close.
   */
  next(): Uint8Array | WireError | null {
    const have = this.end - this.start;
    if (have < FRAME_HEADER) return null;
    const b = this.buf;
    const s = this.start;
    const length = this.length(s);
    if (length > this.max) {
      return new WireError(
        Status.FRAME_TOO_LARGE,
        "frame of " + length + " bytes, the limit is " + this.max,
      );
    }
    if (length < MIN_PAYLOAD) {
      return new WireError(
        Status.MALFORMED_BUFFER,
        "frame of " + length + " bytes is too short for a FlatBuffer",
      );
    }
    if (have >= FRAME_HEADER + MIN_PAYLOAD && !hasIdentifier(b, s + FRAME_HEADER + 4)) {
      return new WireError(
        Status.MALFORMED_BUFFER,
        "frame does not carry the " + FRAME_IDENTIFIER + " identifier",
      );
    }
    if (have < FRAME_HEADER + length) return null;
    this.start = s + FRAME_HEADER + length;
    if (this.start === this.end) this.start = this.end = 0;
    return b.subarray(s + FRAME_HEADER, s + FRAME_HEADER + length);
  }

  /** Forgets everything buffered (after a reconnect). */
  reset(): void {
    this.start = this.end = 0;
  }
}

/**
 * Where a legacy (unframed) request ends, found from its own offsets: the
 * furthest byte of the root table, its tables, strings and vectors and their
 * vtables, rounded up to a multiple of 4 as builders pad. Returns the length
 * of the message, 0 when more bytes are needed to tell, or a `WireError` when
 * the bytes cannot be a request or it would be longer than `maxBytes`.
 */
export function legacyMessageEnd(bytes: Uint8Array, maxBytes: number): number | WireError {
  const scan = new LegacyScan(bytes, maxBytes);
  try {
    const root = scan.table(scan.u32(0));
    // Every offset field of `Commands` (mnist.fbs), so that a message with a
    // string or an update is read whole and answered for what it is.
    scan.subtable(root, 1, (stats) => scan.vector(stats, 5, 1, 1));
    scan.subtable(root, 2, (input) => {
      scan.vector(input, 0, 4);
      scan.vector(input, 1, 1);
    });
    scan.subtable(root, 3, (output) => scan.vector(output, 0, 4));
    for (let slot = 6; slot <= 10; slot++) scan.vector(root, slot, 1, 1);
    scan.subtable(root, 11, (offer) => {
      scan.vector(offer, 0, 1, 1);
      scan.vector(offer, 3, 1);
    });
    scan.subtable(root, 12, (chunk) => {
      scan.vector(chunk, 0, 1, 1);
      scan.vector(chunk, 2, 1);
    });
    // Builders pad a buffer to a multiple of 4 (its root offset's alignment);
    // read the padding too, or it would sit unread when the server closes.
    scan.reach((scan.end + 3) & ~3);
    return scan.end;
  } catch (e) {
    if (e === SHORT) return 0;
    if (e instanceof WireError) return e;
    throw e;
  }
}

/** Thrown inside a scan when the bytes so far end before what it must read. */
const SHORT = { short: true };

class LegacyScan {
  bytes: Uint8Array;
  dv: DataView;
  max: number;
  end: number;
  constructor(bytes: Uint8Array, max: number) {
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.max = max;
    this.end = 0;
  }
  /** Extends the message to `upTo`, or throws if that is past the limit or past what has arrived. */
  reach(upTo: number): void {
    if (upTo > this.max) {
      throw new WireError(
        Status.FRAME_TOO_LARGE,
        "legacy message longer than " + this.max + " bytes",
      );
    }
    if (upTo > this.end) this.end = upTo;
    if (upTo > this.bytes.length) throw SHORT;
  }
  u32(at: number): number {
    this.reach(at + 4);
    return this.dv.getUint32(at, true);
  }
  table(pos: number): number {
    this.reach(pos + 4);
    const vt = pos - this.dv.getInt32(pos, true);
    if (vt < 0) {
      throw new WireError(Status.MALFORMED_BUFFER, "vtable offset points before the buffer");
    }
    this.reach(vt + 4);
    const vtSize = this.dv.getUint16(vt, true);
    if (vtSize < 4 || vtSize & 1) {
      throw new WireError(Status.MALFORMED_BUFFER, "vtable size " + vtSize);
    }
    this.reach(vt + vtSize);
    this.reach(pos + this.dv.getUint16(vt + 2, true));
    return pos;
  }
  /** Position of field `slot` (absent: -1); the table was checked by `table()`. */
  field(table: number, slot: number): number {
    const vt = table - this.dv.getInt32(table, true);
    const entry = 4 + 2 * slot;
    if (entry >= this.dv.getUint16(vt, true)) return -1;
    const off = this.dv.getUint16(vt + entry, true);
    return off ? table + off : -1;
  }
  offsetField(table: number, slot: number): number {
    const at = this.field(table, slot);
    return at < 0 ? -1 : at + this.u32(at);
  }
  /** Reaches the end of vector `slot` of `size`-byte items, `extra` bytes past it (a string's NUL). */
  vector(table: number, slot: number, size: number, extra = 0): void {
    const pos = this.offsetField(table, slot);
    if (pos >= 0) this.reach(pos + 4 + size * Math.min(this.u32(pos), this.max) + extra);
  }
  /** Checks table `slot` and reads its own offsets with `inside`. */
  subtable(table: number, slot: number, inside: (pos: number) => void): void {
    const pos = this.offsetField(table, slot);
    if (pos >= 0) inside(this.table(pos));
  }
}
