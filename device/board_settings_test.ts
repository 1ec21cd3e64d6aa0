// The board's own settings and what it says about itself on the wire: the
// built bundle on the harness's stand-in Espruino, with Storage kept in a
// file so that starting a board again on it is a reboot. A recording server
// (real loopback sockets, the shared codec's framing and replies) keeps every
// request the board sends, so the token and client fields are checked as
// bytes on the wire; the real server answers the rest.
import assert from "node:assert/strict";
import { Logger } from "../server/log.ts";
import { startServer } from "../server/server.ts";
import { type InferenceServer } from "../server/inference_server.ts";
import { Command } from "../shared/codec.ts";
import { encodeReply } from "../shared/reply_codec.ts";
import { type DecodedRequest, decodeRequest } from "../shared/request_codec.ts";
import { FrameDecoder } from "../shared/frame.ts";
import { Board, firmwareFor, withStorage } from "./harness.ts";

const TOKEN = "0123456789abcdef0123456789ABCDEF";

/** A server that answers every framed request with fixed scores and keeps what it got. */
class RecordingServer {
  /** Every request, with the number of the connection it came on (from 1). */
  readonly requests: { conn: number; request: DecodedRequest }[] = [];
  readonly conns: Deno.TcpConn[] = [];
  #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  #accepting: Promise<void>;
  /** Close instead of answering the second request on the first connection. */
  #closeSecond: boolean;

  constructor(options: { closeSecond?: boolean } = {}) {
    this.#closeSecond = !!options.closeSecond;
    this.#accepting = (async () => {
      for await (const conn of this.#listener) {
        this.conns.push(conn);
        this.#serve(conn, this.conns.length);
      }
    })().catch(() => {});
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  async #serve(conn: Deno.TcpConn, n: number): Promise<void> {
    const frames = new FrameDecoder(1 << 14);
    const buf = new Uint8Array(4096);
    try {
      for (;;) {
        const got = await conn.read(buf);
        if (got === null) return;
        frames.push(buf.subarray(0, got));
        for (let frame = frames.next(); frame; frame = frames.next()) {
          if (!(frame instanceof Uint8Array)) throw frame;
          const request = decodeRequest(frame);
          if (!("command" in request)) throw request;
          this.requests.push({ conn: n, request });
          if (this.#closeSecond && n === 1 && this.requests.length === 2) {
            // An idle timeout that fires just as the request arrives.
            conn.close();
            return;
          }
          const scores = Array.from({ length: 10 }, (_, i) => i === 3 ? 0.91 : 0.01);
          await conn.write(encodeReply({
            command: Command.INFERENCE_OUTPUT,
            requestId: request.requestId,
            scores,
            predicted: 3,
            inferenceMs: 0.5,
          }, true));
        }
      }
    } catch {
      // closed by the test or the board
    }
  }

  /** Closes every connection the server holds, as an idle timeout does. */
  closeConnections(): void {
    for (const conn of this.conns) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  async close(): Promise<void> {
    this.closeConnections();
    this.#listener.close();
    await this.#accepting;
  }
}

Deno.test("framed requests carry the token, and the client (name and VERSION) on a connection's first only", async () => {
  const server = new RecordingServer();
  try {
    const firmware = await firmwareFor(server.port, { token: TOKEN });
    const board = await Board.start(firmware.code);
    try {
      await board.waitFor(/^Ready/);
      await board.answer();
      await board.answer();
      assert.equal(server.requests.length, 2);
      const [first, second] = server.requests.map((r) => r.request);
      assert.equal(first.client, `mnist-device ${firmware.version}`);
      assert.equal(second.client, "");
      assert.deepEqual([first.token, second.token], [TOKEN, TOKEN]);
      assert.deepEqual(server.requests.map((r) => r.conn), [1, 1]);
      assert.equal(first.digitU8!.length, 784);

      // setToken: none, then another; each request carries what is set.
      assert.equal(
        await board.answer('setToken("")', /^server/),
        "server 127.0.0.1:" +
          `${server.port}, framed, token none (saved)`,
      );
      await board.answer();
      const other = "Z".repeat(32);
      await board.answer(`setToken("${other}")`, /^server/);
      await board.answer();
      assert.deepEqual(server.requests.slice(2).map((r) => r.request.token), ["", other]);
      assert.equal(
        await board.answer('setToken("short")', /^Need/),
        'Need 32 chars or ""',
      );
      assert.deepEqual(board.matching(/Uncaught|HARNESS/), []);
    } finally {
      await board.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("a close while idle is normal: no line, no back-off, the next request reconnects", async () => {
  const server = new RecordingServer();
  try {
    const firmware = await firmwareFor(server.port);
    const board = await Board.start(firmware.code);
    try {
      await board.waitFor(/^Ready/);
      await board.answer();
      const from = board.lines.length;
      server.closeConnections();
      // Long enough for the close to reach the board.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(board.lines.slice(from), []);
      // At once, not after a back-off: polling sends as soon as it is asked.
      // The second bundled digit is a 1; this server says 3 to everything.
      assert.equal(await board.answer("start(60)"), "Predicted: 3, expected: 1");
      await board.answer("stop()", /^Stopped/);
      assert.deepEqual(server.requests.map((r) => r.conn), [1, 2]);
      // The new connection's first request says who it is again; no token was set.
      assert.equal(server.requests[1].request.client, `mnist-device ${firmware.version}`);
      assert.equal(server.requests[1].request.token, "");
      assert.deepEqual(board.matching(/^Server|Uncaught|HARNESS/), []);
    } finally {
      await board.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("a kept connection closed as a request goes out: sent again on a new one, silently", async () => {
  const server = new RecordingServer({ closeSecond: true });
  try {
    const firmware = await firmwareFor(server.port);
    const board = await Board.start(firmware.code);
    try {
      await board.waitFor(/^Ready/);
      await board.answer();
      assert.equal(await board.answer(), "Predicted: 3, expected: 1");
      // The same request, twice: on the kept connection, then on a new one with `client`.
      assert.deepEqual(server.requests.map((r) => r.conn), [1, 1, 2]);
      const [, lost, again] = server.requests.map((r) => r.request);
      assert.deepEqual(lost.digitU8, again.digitU8);
      assert.equal(again.client, `mnist-device ${firmware.version}`);
      assert.deepEqual(board.matching(/^Server|Uncaught|HARNESS/), []);
      assert.equal((await board.stats()).connects, 2);
    } finally {
      await board.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("setServer and setToken are kept in Storage and survive a reboot; config() says so", async () => {
  const real: InferenceServer = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("error", () => {}),
  });
  const other = new RecordingServer();
  try {
    await withStorage(async (storageFile) => {
      // Built for the real server; moved to the other one at the REPL.
      const firmware = await firmwareFor(real.addr.port);
      let board = await Board.start(firmware.code, { storageFile });
      try {
        await board.waitFor(/^Ready/);
        assert.equal(
          await board.answer("config()", /^server/),
          `server 127.0.0.1:${real.addr.port}, framed, token none`,
        );
        assert.match(await board.answer(), /^Predicted: 0, expected: 0$/);
        assert.equal(
          await board.answer(`setServer("127.0.0.1", ${other.port})`, /^server/),
          `server 127.0.0.1:${other.port} (saved), framed, token none`,
        );
        await board.answer(`setToken("${TOKEN}")`, /^server/);
        await board.answer();
        assert.equal(other.requests.length, 1);
        assert.equal(other.requests[0].request.token, TOKEN);
        assert.equal(await board.answer('setServer("")', /^Need/), "Need host");
        assert.equal(await board.answer('setServer("h", 70000)', /^Need/), "Need port 1..65535");
      } finally {
        await board.close();
      }
      // The reboot: the same flash, a fresh interpreter.
      board = await Board.start(firmware.code, { storageFile });
      try {
        assert.equal(await board.waitFor(/^mnist-device/), `mnist-device ${firmware.version}`);
        await board.waitFor(/^Ready/);
        // Start-up says where it sends, from Storage.
        assert.equal(
          board.lines[1],
          `server 127.0.0.1:${other.port} (saved), framed, token set (saved)`,
        );
        assert.equal(
          await board.answer("config()", /^server/),
          `server 127.0.0.1:${other.port} (saved), framed, token set (saved)`,
        );
        await board.answer();
        assert.equal(other.requests.length, 2);
        assert.equal(other.requests[1].request.token, TOKEN);
        // Undoing: erase the file, reboot, and the built-in settings are back.
        await board.repl('require("Storage").eraseAll()');
      } finally {
        await board.close();
      }
      board = await Board.start(firmware.code, { storageFile });
      try {
        await board.waitFor(/^Ready/);
        assert.equal(
          await board.answer("config()", /^server/),
          `server 127.0.0.1:${real.addr.port}, framed, token none`,
        );
      } finally {
        await board.close();
      }
    });
  } finally {
    await other.close();
    await real.shutdown();
  }
});
