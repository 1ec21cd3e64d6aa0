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
  /** The write under way: its bytes, how many went out, how many slots it carries, and whether it closes. */
  #out: Uint8Array | null = null;
  #written = 0;
  #count = 0;
  #closeAfter = false;
  #ending = false;
  #closed = false;
  #waiters: (() => void)[] = [];
  /** A write that makes no progress by then aborts the connection; Infinity between writes. */
  #deadline = new Deadline(() => {
    this.#options.onWriteTimeout?.();
    this.abort();
  });
  // Bound once: a write's completion costs no closure of its own.
  #onWritten = (n: number) => this.#progress(n);
  #onWriteFailed = () => this.abort(); // the peer reset, or the connection was aborted

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
    if (this.#out === null && !this.#closed) this.#pump();
    // A reply that waits (behind a write, or for an earlier reply) keeps bytes
    // of its own: a view of a shared slab (`ByteSlab`) would keep the whole
    // slab alive for as long as a slow reader makes it wait.
    if (this.#out !== bytes && !this.#closed && bytes.byteLength < bytes.buffer.byteLength) {
      slot.bytes = bytes.slice();
    }
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
    if (this.#waiters.length === 0) return;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  /**
   * Starts writing everything ready at the head, in one write; the slots stay
   * outstanding until it is written. No promise of its own: the socket's
   * write calls back (`#progress`), and the deadline's one timer aborts a
   * write that stalls.
   */
  #pump(): void {
    const slots = this.#slots;
    let count = 0;
    let size = 0;
    let close = false;
    while (count < slots.length && slots[count].bytes && !close) {
      size += slots[count].bytes!.length;
      close = slots[count].close;
      count++;
    }
    if (count === 0) {
      if (this.#ending && slots.length === 0) this.#close();
      return;
    }
    let out: Uint8Array;
    if (count === 1) out = slots[0].bytes!;
    else {
      out = new Uint8Array(size);
      let at = 0;
      for (let i = 0; i < count; i++) {
        out.set(slots[i].bytes!, at);
        at += slots[i].bytes!.length;
      }
    }
    this.#out = out;
    this.#written = 0;
    this.#count = count;
    this.#closeAfter = close;
    this.#writeRest();
  }

  #writeRest(): void {
    this.#deadline.set(performance.now() + this.#options.writeTimeoutMs);
    let writing: Promise<number>;
    try {
      writing = this.#conn.write(this.#out!.subarray(this.#written));
    } catch {
      return this.abort();
    }
    writing.then(this.#onWritten, this.#onWriteFailed);
  }

  #progress(n: number): void {
    if (this.#closed) return;
    this.#written += n;
    if (this.#written < this.#out!.length) return this.#writeRest();
    this.#deadline.set(Infinity);
    this.#out = null;
    this.#slots.splice(0, this.#count);
    if (this.#closeAfter) this.#close();
    this.#wake();
    if (!this.#closed) this.#pump();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#out = null;
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
