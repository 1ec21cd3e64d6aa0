// The protocol as a board setting: every bundle carries both, the build
// picks the one a board starts with, and `setServer(host, port, protocol)`
// at the REPL switches, kept in the board's Storage across a reboot (a new
// board on the same flash file). The built bundle runs on the harness's
// stand-in Espruino against the real server with the real model, with
// device tokens on, so a token that legacy cannot send and framed must is
// checked by the server itself. Memory is what the harness cannot count; it
// checks what stands in for it (buffers, writes, connections, timers) in
// both protocols; device/README.md has the real interpreter's figures.
import assert from "node:assert/strict";
import { createAuthorizer } from "../server/auth/config.ts";
import { newToken, tokenLine } from "../server/auth/tokens.ts";
import { Logger } from "../server/log.ts";
import { startServer } from "../server/server.ts";
import { type InferenceServer } from "../server/inference_server.ts";
import { clientName } from "./build.ts";
import { requestTemplate } from "./request.ts";
import { Board, firmwareFor, withStorage } from "./harness.ts";

/** A legacy request's bytes: its head and 784 floats, as the earlier client sent. */
const LEGACY_BYTES = 3180;
/** A framed request's bytes: the whole template, the client string switched off or on. */
const FRAMED_BYTES = requestTemplate("framed", clientName("01234567")).size;

/** The real server with device tokens on (legacy allowed, as by default); `token` is known. */
async function serveWithToken(
  fn: (server: InferenceServer, token: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, tokenLine("board", token) + "\n");
  const auth = await createAuthorizer({ tokens: `${dir}/tokens` });
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("error", () => {}),
    auth,
  });
  try {
    await fn(server, token);
  } finally {
    await server.shutdown();
    await auth.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Sends `count` bundled digits; checks every verdict (the next `count` labels from `first`). */
async function classify(board: Board, first: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const k = (first + i) % 10;
    assert.equal(await board.answer(), `Predicted: ${k}, expected: ${k}`);
  }
}

/** What the board's Storage holds in `mnist.json`. */
async function stored(storageFile: string): Promise<unknown> {
  const files = JSON.parse(await Deno.readTextFile(storageFile));
  return JSON.parse(files["mnist.json"]);
}

Deno.test("setServer(host, port, protocol) switches to legacy and back, kept across reboots; the real server answers both", async () => {
  await serveWithToken(async (server, token) => {
    const port = server.addr.port;
    await withStorage(async (storageFile) => {
      // Built framed, with the device's token.
      const firmware = await firmwareFor(port, { token });
      let board = await Board.start(firmware.code, { storageFile });
      try {
        await board.waitFor(/^Ready/);
        assert.equal(board.lines[1], `server 127.0.0.1:${port}, framed, token set`);
        await classify(board, 0, 2);

        // To legacy: the token stays, and the board says legacy cannot send it.
        assert.equal(
          await board.answer(`setServer("127.0.0.1", ${port}, "legacy")`, /^server/),
          `server 127.0.0.1:${port} (saved), legacy, token set, not sent in legacy`,
        );
        const before = await board.stats();
        await classify(board, 2, 10);
        const after = await board.stats();
        assert.equal(after.connects - before.connects, 10, "legacy: a connection per request");
        assert.equal(after.bytesWritten - before.bytesWritten, 10 * LEGACY_BYTES);
        assert.equal(after.openSockets, 0);
        assert.deepEqual(await stored(storageFile), {
          host: "127.0.0.1",
          port,
          protocol: "legacy",
        });
      } finally {
        await board.close();
      }

      // The reboot: legacy, from Storage.
      board = await Board.start(firmware.code, { storageFile });
      try {
        await board.waitFor(/^Ready/);
        assert.equal(
          board.lines[1],
          `server 127.0.0.1:${port} (saved), legacy, token set, not sent in legacy`,
        );
        await classify(board, 0, 3);
        assert.deepEqual(
          [(await board.stats()).connects, (await board.stats()).bytesWritten],
          [3, 3 * LEGACY_BYTES],
        );

        // Back to framed: the kept token goes with every request, and the server takes it.
        assert.equal(
          await board.answer(`setServer("127.0.0.1", ${port}, "framed")`, /^server/),
          `server 127.0.0.1:${port} (saved), framed, token set`,
        );
        const before = await board.stats();
        await classify(board, 3, 10);
        const after = await board.stats();
        assert.equal(after.connects - before.connects, 1, "framed: one kept connection");
        assert.equal(after.bytesWritten - before.bytesWritten, 10 * FRAMED_BYTES);
      } finally {
        await board.close();
      }

      // The reboot: framed, from Storage.
      board = await Board.start(firmware.code, { storageFile });
      try {
        await board.waitFor(/^Ready/);
        assert.equal(board.lines[1], `server 127.0.0.1:${port} (saved), framed, token set`);
        await classify(board, 0, 1);
        assert.deepEqual(board.matching(/^Server|Uncaught|HARNESS/), []);
      } finally {
        await board.close();
      }
    });
  });
});

Deno.test("a board built legacy: the token waits for framed; the protocol left out is the built-in one", async () => {
  await serveWithToken(async (server, token) => {
    const port = server.addr.port;
    await withStorage(async (storageFile) => {
      const firmware = await firmwareFor(port, { protocol: "legacy" });
      const board = await Board.start(firmware.code, { storageFile });
      try {
        await board.waitFor(/^Ready/);
        assert.equal(board.lines[1], `server 127.0.0.1:${port}, legacy, token none`);
        await classify(board, 0, 1);
        // setToken under legacy: kept, with one line saying legacy cannot send it.
        assert.equal(
          await board.answer(`setToken("${token}")`, /^server/),
          `server 127.0.0.1:${port}, legacy, token set (saved), not sent in legacy`,
        );
        await classify(board, 1, 1);
        // Framed without the token is refused by this server; with it, served.
        assert.equal(
          await board.answer('setToken("")', /^server/),
          `server 127.0.0.1:${port}, legacy, token none (saved)`,
        );
        await board.answer(`setServer("127.0.0.1", ${port}, "framed")`, /^server/);
        assert.match(await board.answer("test()", /^Server/), /^Server: UNAUTHORIZED: /);
        await board.answer(`setToken("${token}")`, /^server/);
        await classify(board, 3, 2);
        // No protocol given: the built-in one, legacy.
        assert.equal(
          await board.answer(`setServer("127.0.0.1", ${port})`, /^server/),
          `server 127.0.0.1:${port} (saved), legacy, token set (saved), not sent in legacy`,
        );
        await classify(board, 5, 1);
        assert.deepEqual(board.matching(/Uncaught|HARNESS/), []);
      } finally {
        await board.close();
      }
    });
  });
});

Deno.test("a bad protocol, port or host is one sentence and changes nothing, in Storage either", async () => {
  await withStorage(async (storageFile) => {
    const firmware = await firmwareFor(32001);
    const board = await Board.start(firmware.code, { storageFile });
    try {
      await board.waitFor(/^Ready/);
      await board.answer('setServer("10.0.0.5", 32002, "legacy")', /^server/);
      const saved = await stored(storageFile);
      for (
        const [call, sentence] of [
          ['setServer("10.0.0.6", 32003, "udp")', "Need framed or legacy"],
          ['setServer("10.0.0.6", 32003, 1)', "Need framed or legacy"],
          ['setServer("10.0.0.6", 70000, "framed")', "Need port 1..65535"],
          ['setServer(1, 32003, "framed")', "Need host"],
          ["setToken(5)", 'Need 32 chars or ""'],
        ]
      ) {
        const from = board.lines.length;
        assert.equal(await board.answer(call, /^Need/), sentence);
        assert.equal(
          await board.answer("config()", /^server/),
          "server 10.0.0.5:32002 (saved), legacy, token none",
        );
        assert.equal(board.lines.length - from, 2, `${call}: one line, then config()'s`);
      }
      assert.deepEqual(await stored(storageFile), saved);
    } finally {
      await board.close();
    }
  });
});

Deno.test("100 requests in each protocol, switched at the REPL: one request buffer, one piece, nothing left behind", async () => {
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("error", () => {}),
  });
  try {
    const port = server.addr.port;
    const firmware = await firmwareFor(port);
    const board = await Board.start(firmware.code);
    try {
      await board.waitFor(/^Ready/);
      await board.answer(`setServer("127.0.0.1", ${port}, "legacy")`, /^server/);
      await classify(board, 0, 100);
      let stats = await board.stats();
      // The request buffer is made once and never written as a whole; the
      // only buffer written is the piece of floats, made once.
      assert.deepEqual(
        [stats.toStringBuffers, stats.largestWrite, stats.connects, stats.openSockets],
        [1, 14 * 4, 100, 0],
      );
      assert.equal(stats.bytesWritten, 100 * LEGACY_BYTES);
      await board.answer(`setServer("127.0.0.1", ${port}, "framed")`, /^server/);
      await classify(board, 0, 100);
      stats = await board.stats();
      // Framed writes 64-byte pieces of the one request buffer on one connection.
      assert.deepEqual(
        [stats.toStringBuffers, stats.largestWrite, stats.connects, stats.openSockets],
        [2, 64, 101, 1],
      );
      assert.equal(stats.bytesWritten, 100 * LEGACY_BYTES + 100 * FRAMED_BYTES);
      assert.equal(stats.timers, 0);
      assert.deepEqual(board.matching(/^Server|Uncaught|HARNESS/), []);
    } finally {
      await board.close();
    }
  } finally {
    await server.shutdown();
  }
});
