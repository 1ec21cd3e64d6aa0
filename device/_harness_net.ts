/**
 * `require("net")` on the harness's board: `connect` returns a socket at
 * once and connects a real Deno socket behind it; sockets emit `connect`,
 * `drain`, `data` (binary strings of at most `network.chunk` bytes),
 * `error`, `end` and `close` as Espruino queues them.
 *
 * @example
 * ```ts
 * import { network } from "./_harness_board.ts";
 * import { net } from "./_harness_net.ts";
 *
 * network.refuseAtOnce = true; // as Espruino on Linux answers a refused connection
 * try {
 *   net.connect({ host: "127.0.0.1", port: 9 });
 * } catch (e) {
 *   console.log((e as Error).message); // Unable to create socket
 * }
 * ```
 * @module
 */
import { binary, bytesOf } from "./_harness_binary.ts";
import { type Fn, halted, network, sleep, stats } from "./_harness_board.ts";

class Socket {
  conn: Deno.TcpConn | null = null;
  queue: Uint8Array[] = [];
  writing = false;
  closed = false;
  ending = false;

  write(data: unknown): boolean {
    if (halted) return false;
    if (this.closed || this.ending) throw new Error("This socket is closed");
    // Espruino writes the text of anything that is not a string.
    const bytes = bytesOf(typeof data === "string" ? data : String(data));
    stats.bytesWritten += bytes.length;
    stats.largestWrite = Math.max(stats.largestWrite, bytes.length);
    this.queue.push(bytes);
    this.flush();
    return false;
  }

  end(data?: unknown): void {
    if (data !== undefined) this.write(data);
    this.ending = true;
    this.flush();
  }

  async flush(): Promise<void> {
    if (this.writing || !this.conn) return;
    this.writing = true;
    try {
      while (this.queue.length) {
        const bytes = this.queue.shift() as Uint8Array;
        for (let at = 0; at < bytes.length;) at += await this.conn.write(bytes.subarray(at));
      }
      // A socket the board ends closes as any other: `end`, then `close`.
      if (this.ending) this.finish(null);
      // Espruino's "drain": everything written so far has gone out.
      else (this as unknown as { emit: Fn }).emit("drain");
    } catch {
      // The server closed: the read loop reports it.
    } finally {
      this.writing = false;
    }
  }

  shut(): void {
    if (this.closed) return;
    this.closed = true;
    stats.openSockets--;
    try {
      this.conn?.close();
    } catch {
      // already closed
    }
  }

  /** The end of a connection, as Espruino reports it: error (if any), end, close. */
  finish(error: { code: number; message: string } | null): void {
    const emitter = this as unknown as { emit: Fn };
    if (error) emitter.emit("error", error);
    emitter.emit("end");
    emitter.emit("close", !!error);
    this.shut();
  }

  async read(conn: Deno.TcpConn): Promise<void> {
    const buf = new Uint8Array(4096);
    const emitter = this as unknown as { emit: Fn };
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null || this.closed) break;
      if (network.corruptAt >= 0 && network.corruptAt < n) {
        buf[network.corruptAt] ^= 0xff;
        stats.corrupted++;
      }
      network.corruptAt = network.corruptAt < 0 ? -1 : Math.max(-1, network.corruptAt - n);
      const pieces: string[] = [];
      for (let at = 0; at < n; at += network.chunk) {
        pieces.push(binary(buf.subarray(at, Math.min(n, at + network.chunk))));
      }
      for (const piece of pieces) {
        // Each piece is its own event, some time apart, as from a radio.
        await sleep(network.delayMs);
        if (this.closed) return;
        emitter.emit("data", piece);
      }
    }
    if (!this.closed) this.finish(null);
  }
}

export const net = {
  connect(opts: { host: string; port: number }, callback?: Fn): Socket {
    stats.connects++;
    if (network.refuseAtOnce) {
      const e = new Error("Unable to create socket");
      e.name = "InternalError";
      throw e;
    }
    const sock = new Socket();
    const emitter = sock as unknown as { on: Fn; emit: Fn };
    stats.openSockets++;
    if (callback) emitter.on("connect", callback);
    Deno.connect({ hostname: opts.host, port: opts.port }).then((conn) => {
      if (sock.ending || sock.closed) {
        conn.close();
        sock.shut();
        return;
      }
      conn.setNoDelay(true);
      sock.conn = conn;
      emitter.emit("connect", sock);
      // Espruino queues a "drain" with the "connect" when nothing waits to be sent.
      if (!sock.queue.length) emitter.emit("drain");
      sock.flush();
      sock.read(conn);
    }, () => {
      // What lwIP on the ESP8266 reports for a refused connection.
      sock.finish({ code: -9, message: "connection reset" });
    });
    return sock;
  },
};
