/**
 * What a board connection has read of messages not yet whole: until its
 * protocol is known, and for a legacy message, a head of its own bytes;
 * framed, a frame decoder. `connection.ts` reads into it, picks the protocol
 * and serves the messages it completes.
 *
 * @module
 */
import { FRAME_HEADER, FrameDecoder } from "../../shared/frame.ts";

/** A connection's unfinished messages: the head, or the frame decoder once framed. */
export class MessageBuffer {
  /** What was read before the protocol is known, and a legacy message. */
  head: Uint8Array = new Uint8Array(0);
  mode: "framed" | "legacy" | null = null;
  frames: FrameDecoder | null = null;

  /** Bytes of messages under way. */
  get buffered(): number {
    return this.frames ? this.frames.buffered : this.head.length;
  }

  /** The memory held for unfinished messages: a framed connection's whole decoder buffer while a message is under way. */
  get held(): number {
    if (!this.frames) return this.head.length;
    return this.frames.buffered > 0 ? this.frames.capacity : 0;
  }

  /** Takes one chunk of the stream (`decoded`: it was read into the frame decoder's own space). */
  add(chunk: Uint8Array, decoded: boolean): void {
    if (decoded) this.frames!.commit(chunk.length);
    else if (this.frames) this.frames.push(chunk);
    // A first chunk is not copied yet: a framed one goes straight to its decoder.
    else this.head = this.head.length === 0 ? chunk : concat(this.head, chunk);
  }

  /** Moves the head into a frame decoder, which takes every later chunk. */
  startFrames(maxFrame: number): void {
    // Sized for a board's request; a pipelining client's grows.
    this.frames = new FrameDecoder(maxFrame, Math.min(maxFrame + FRAME_HEADER, 1024));
    this.frames.push(this.head);
    this.head = new Uint8Array(0);
  }

  /** Copies the head when it is a view of `chunk`'s read buffer, which the next read reuses. */
  ownHead(chunk: Uint8Array): void {
    // What stays in `head` outlives the read buffer it may be a view of.
    if (this.head.buffer === chunk.buffer) this.head = this.head.slice();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
