// The board port's deadlines and error replies: real server on loopback,
// real sockets, real model.
import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { decodeReply } from "../../shared/reply_codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { oldClientRequest } from "../../shared/testing.ts";
import { Logger } from "../log.ts";
import { startServer } from "../server.ts";
import type { ConnectionReason } from "./limits.ts";
import { address, framedBatch, splitFramed, withServer } from "../testing/server.ts";
import { readAll } from "../testing/conn.ts";
import { legacyExchange } from "../../client/client.ts";
import { writeAll } from "../write_all.ts";

const quiet = new Logger("error", () => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves true once `check()` holds, false if it still does not after `limitMs`. */
async function eventually(check: () => boolean, limitMs = 20_000): Promise<boolean> {
  for (const end = performance.now() + limitMs; performance.now() < end; await sleep(20)) {
    if (check()) return true;
  }
  return check();
}

Deno.test("a client that pipelines and never reads is closed after the write deadline, and shutdown still answers the others", async () => {
  const reasons: ConnectionReason[] = [];
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: quiet,
    writeTimeoutMs: 500,
    onConnection: (e) => reasons.push(e.reason),
  });
  // 60,000 replies (6 MB) are more than the kernel buffers hold for a client that never reads.
  const flood = framedBatch(60_000, Command.GET_STATS);
  const first = await Deno.connect(address(server));
  writeAll(first, flood).catch(() => {});
  assert.ok(
    await eventually(() => reasons.includes("write-timeout")),
    "the non-reader was closed",
  );
  first.close();

  // Another non-reader is stuck when shutdown begins, beside a good client with requests in flight.
  const second = await Deno.connect(address(server));
  writeAll(second, flood).catch(() => {});
  await sleep(200);
  // A good client's ten requests, in one write (one read on the server).
  const good = await Deno.connect(address(server));
  await writeAll(good, framedBatch(10));
  const firstByte = new Uint8Array(1);
  assert.equal(await good.read(firstByte), 1, "the good client's replies began");
  const stopped = await Promise.race([
    server.shutdown().then(() => true),
    sleep(20_000).then(() => false),
  ]);
  assert.ok(stopped, "shutdown finished");
  const rest = await readAll(good);
  const { replies } = splitFramed(Uint8Array.of(...firstByte, ...rest));
  assert.deepEqual(replies.map((r) => [r.requestId, r.status]), [
    ...Array.from({ length: 10 }, (_, i) => [i + 1, Status.OK]),
  ]);
  good.close();
  second.close();
});

Deno.test("a legacy message dripped a byte at a time is cut at its deadline with MALFORMED_BUFFER, while still dripping", async () => {
  await withServer({ messageTimeoutMs: 600 }, async (server) => {
    const conn = await Deno.connect(address(server));
    const request = oldClientRequest(new Float32Array(784));
    await writeAll(conn, request.subarray(0, 100));
    let sent = 100;
    let stopped = false;
    // Up to 100 more bytes, one every 100 ms: each restarted the old per-read timeout.
    const dripping = (async () => {
      for (; sent < 200 && !stopped; sent++) {
        await sleep(100);
        if (stopped) break;
        await conn.write(request.subarray(sent, sent + 1)).catch(() => {});
      }
      return sent;
    })();
    const bytes = await readAll(conn);
    stopped = true;
    const finished = (await dripping) >= 200;
    conn.close();
    assert.ok(!finished, "the reply came while the client was still dripping");
    const reply = decodeReply(bytes);
    assert.ok(!(reply instanceof WireError), String(reply));
    assert.equal(reply.status, Status.MALFORMED_BUFFER);
    assert.match(reply.error, /bytes of the message arrived within 600 ms/);
  });
});

Deno.test("a connection that sends nothing is closed after the message deadline", async () => {
  const reasons: ConnectionReason[] = [];
  await withServer(
    { messageTimeoutMs: 300, onConnection: (e) => reasons.push(e.reason) },
    async (server) => {
      const conn = await Deno.connect(address(server));
      const closed = await Promise.race([
        readAll(conn).then((bytes) => bytes.length),
        sleep(20_000).then(() => "still open"),
      ]);
      conn.close();
      assert.equal(closed, 0, "closed with no reply");
      assert.deepEqual(reasons, ["silent"]);
    },
  );
});

Deno.test("framed UNKNOWN_COMMAND and BAD_DIGIT_LENGTH replies carry the request's id", async () => {
  await withServer({}, async (server) => {
    const conn = await Deno.connect(address(server));
    await writeAll(
      conn,
      Uint8Array.of(
        ...encodeRequest({ command: 9, requestId: 77 }, true),
        ...encodeRequest({ command: 1, requestId: 78, digitU8: new Uint8Array(100) }, true),
        ...encodeRequest({ command: 1, requestId: 79 }, true),
      ),
    );
    await conn.closeWrite();
    const { replies } = splitFramed(await readAll(conn));
    conn.close();
    assert.deepEqual(replies.map((r) => [r.requestId, r.status]), [
      [77, Status.UNKNOWN_COMMAND],
      [78, Status.BAD_DIGIT_LENGTH],
      [79, Status.BAD_DIGIT_LENGTH],
    ]);
  });
});

Deno.test("legacy messages with strings or a code update are read whole: strings ignored, updates UNKNOWN_COMMAND", async () => {
  await withServer({}, async (server) => {
    const named = await legacyExchange(
      address(server),
      encodeRequest({
        command: Command.INFERENCE_INPUT,
        digitU8: new Uint8Array(784),
        model: "no-such-model",
        client: "old-firmware 1.0",
        device: "board-7",
      }, false),
    );
    assert.equal(named.length, 96, "the legacy reply: the default model answered");
    assert.ok(!server.monitor.fleet.get("board-7"), "a legacy message names no device");
    assert.ok(server.monitor.fleet.get("addr:127.0.0.1"), "a legacy client is its address");
    const badDigit = decodeReply(
      await legacyExchange(
        address(server),
        encodeRequest(
          { command: Command.INFERENCE_INPUT, digitU8: new Uint8Array(9), model: "x" },
          false,
        ),
      ),
    );
    assert.ok(!(badDigit instanceof WireError));
    assert.equal(badDigit.status, Status.BAD_DIGIT_LENGTH, badDigit.error);
    const chunk = await legacyExchange(
      address(server),
      encodeRequest({
        command: Command.CODE_CHUNK,
        chunk: { release: "firmware-9", offset: 0, data: new Uint8Array(0), crc32: 0 },
      }, false),
    );
    const refused = decodeReply(chunk);
    assert.ok(!(refused instanceof WireError));
    assert.equal(refused.status, Status.UNKNOWN_COMMAND, refused.error);
  });
});
