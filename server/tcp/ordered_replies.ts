/**
 * Replies of one connection, written in request order: a slot is reserved
 * per request when it arrives and filled when its answer is ready (answers
 * may be ready out of order); whatever is ready at the head goes out in one
 * write.
 *
 * A reply counts as outstanding until it has been written, so `idle()` and
 * `end()` never cut a write in flight: a connection that closes after its
 * last reply (end of stream, framing error, timeout, shutdown) delivers it
 * whole. A write that makes no progress within `writeTimeoutMs` (a client
 * that sends and never reads) aborts the connection instead of holding it,
 * its memory and shutdown for ever.
 *
 * @example
 * ```ts
 * import { OrderedReplies } from "./ordered_replies.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const replies = new OrderedReplies(await listener.accept(), { writeTimeoutMs: 10_000 });
 * const first = replies.reserve();
 * const second = replies.reserve();
 * replies.fill(second, new Uint8Array([2])); // waits for the first
 * replies.fill(first, new Uint8Array([1])); // both go out, 1 then 2
 * await replies.end(); // closes once both are written
 * const received = new Uint8Array(await new Response(client.readable).arrayBuffer());
 * console.log(received); // Uint8Array(2) [ 1, 2 ]
 * listener.close();
 * ```
 * @module
 */
import { Deadline } from "./deadline.ts";

/** One reply's place in the order. */
export interface ReplySlot {
  bytes: Uint8Array | null;
  /** Close the connection once this reply is written. */
  close: boolean;
}

/** Limits of an `OrderedReplies`. */
export interface OrderedRepliesOptions {
  /** How long a write may make no progress before the connection is aborted, in ms. */
  writeTimeoutMs: number;
  /** Called once when a write deadline passes (before the connection is aborted). */
  onWriteTimeout?: () => void;
}

/** Replies in request order on one connection. */
export class OrderedReplies {
  #conn: Deno.Conn;
  #options: OrderedRepliesOptions;
  /** Reserved and not yet written; the head ones may be being written. */
  #slots: ReplySlot[] = [];
  #writing = false;
  #ending = false;
  #closed = false;
  #waiters: (() => void)[] = [];
  #deadline = new Deadline();

  constructor(conn: Deno.Conn, options: OrderedRepliesOptions) {
    this.#conn = conn;
    this.#options = options;
  }

  /** Whether the connection is closed (no more replies can go out). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Replies reserved and not yet written. */
  get outstanding(): number {
    return this.#slots.length;
  }

  /** Reserves the next reply's place. */
  reserve(): ReplySlot {
    const slot: ReplySlot = { bytes: null, close: false };
    if (!this.#closed) this.#slots.push(slot);
    return slot;
  }

  /** Fills a reserved place; with `close`, the connection closes after this reply. */
  fill(slot: ReplySlot, bytes: Uint8Array, close = false): void {
    slot.bytes = bytes;
    slot.close = close;
    if (!this.#writing && !this.#closed) this.#pump();
  }

  /** Resolves once fewer than `n` replies are outstanding, or the connection closed. */
  async below(n: number): Promise<void> {
    while (this.#slots.length >= n && !this.#closed) await this.#changed();
  }

  /** Resolves once every reserved reply has been written, or the connection closed. */
  async idle(): Promise<void> {
    while (this.#slots.length > 0 && !this.#closed) await this.#changed();
  }

  /** Closes the connection once every reserved reply has been written (a write in flight finishes). */
  async end(): Promise<void> {
    this.#ending = true;
    await this.idle();
    this.#close();
  }

  /** Closes the connection now, dropping replies not yet written. */
  abort(): void {
    this.#close();
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  async #pump(): Promise<void> {
    this.#writing = true;
    try {
      while (!this.#closed && this.#slots.length > 0 && this.#slots[0].bytes) {
        // Everything ready at the head goes out in one write; the slots stay
        // outstanding until it is written.
        let count = 0;
        let size = 0;
        let close = false;
        while (count < this.#slots.length && this.#slots[count].bytes && !close) {
          size += this.#slots[count].bytes!.length;
          close = this.#slots[count].close;
          count++;
        }
        let out: Uint8Array;
        if (count === 1) out = this.#slots[0].bytes!;
        else {
          out = new Uint8Array(size);
          let at = 0;
          for (let i = 0; i < count; i++) {
            out.set(this.#slots[i].bytes!, at);
            at += this.#slots[i].bytes!.length;
          }
        }
        await this.#write(out);
        this.#slots.splice(0, count);
        if (close) this.#close();
        this.#wake();
      }
    } catch {
      // The peer reset, or the write deadline passed.
      this.abort();
    } finally {
      this.#writing = false;
      if (this.#ending && this.#slots.length === 0) this.#close();
      this.#wake();
    }
  }

  /** Writes every byte; a write that makes no progress within the deadline aborts the connection. */
  async #write(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) {
      this.#deadline.set(performance.now() + this.#options.writeTimeoutMs);
      const n = await this.#deadline.race(this.#conn.write(bytes.subarray(written)));
      if (n === "timeout") {
        this.#options.onWriteTimeout?.();
        throw new Deno.errors.TimedOut("a write made no progress");
      }
      written += n;
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#deadline.clear();
    this.#slots.length = 0;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
    this.#wake();
  }
}
