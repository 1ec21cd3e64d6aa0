// An update build against a server that is not the real one: a host on
// loopback that answers every inference with an offer and serves chunks as
// each test says, reading every request the board sends with the shared
// codec (the server's own reader). What a bad offer may cost the board: one
// failed update and one report the server can read, never a loop of
// downloads and restarts, never a request the server cannot read.
import assert from "node:assert/strict";
import { Command } from "../shared/codec.ts";
import { encodeReply } from "../shared/reply_codec.ts";
import { type DecodedRequest, decodeRequest, peekRequestId } from "../shared/request_codec.ts";
import { WireError } from "../shared/errors.ts";
import { crc32 } from "../shared/crc32.ts";
import { Board } from "./harness.ts";
import { bootCode } from "./boot.ts";
import { type Firmware } from "./build.ts";
import { installFiles } from "./firmware_output.ts";
import { File } from "./boot_state.ts";
import { firmwareAt } from "./ota_testing.ts";
import { MAX_RELEASE_ID } from "../shared/update_codec.ts";

/** Board time runs this much faster: a reply may take 500 ms of the wall clock. */
const SPEED = 10;
const SCORES = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0];

/** An offer as a reply carries it. */
interface Offer {
  release: string;
  size: number;
  crc32: number;
}

/** The host: what it offers, and how it answers a chunk request (the default: `code` as it is). */
interface Host {
  offer: () => Offer | null;
  /** A chunk request's answer; `null`: none. */
  chunk?: (request: DecodedRequest) => Uint8Array | null;
}

/** The host on loopback; every request it read, and every one it could not. */
function serve(host: Host, code: () => Uint8Array) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const seen = { requests: [] as DecodedRequest[], unreadable: [] as string[] };
  const answer = (r: DecodedRequest): Uint8Array | null => {
    if (r.command == Command.INFERENCE_INPUT) {
      const update = host.offer();
      return encodeReply({ command: 2, requestId: r.requestId, scores: SCORES, update }, true);
    }
    if (r.command == Command.CODE_CHUNK && host.chunk) return host.chunk(r);
    const at = r.chunk?.offset ?? 0;
    const data = code().subarray(at, at + 512);
    const chunk = r.chunk
      ? { release: r.chunk.release, offset: at, data, crc32: crc32(data) }
      : null;
    return encodeReply({ command: r.command, requestId: r.requestId, chunk }, true);
  };
  (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      (async () => {
        let buf = new Uint8Array(0);
        const piece = new Uint8Array(4096);
        for (;;) {
          const n = await conn.read(piece).catch(() => null);
          if (n === null) return;
          buf = new Uint8Array([...buf, ...piece.subarray(0, n)]);
          while (buf.length >= 4) {
            const size = new DataView(buf.buffer).getUint32(0, true);
            if (buf.length < 4 + size) break;
            const payload = buf.slice(4, 4 + size);
            buf = buf.slice(4 + size);
            const request = decodeRequest(payload);
            // Refused as the real server refuses it, under the id it can find.
            if (request instanceof WireError) seen.unreadable.push(request.message);
            else seen.requests.push(request);
            const reply = request instanceof WireError
              ? encodeReply({
                command: 0,
                requestId: peekRequestId(payload),
                status: request.status,
                error: request.message,
              }, true)
              : answer(request);
            if (reply) await conn.write(reply).catch(() => {});
          }
        }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    seen,
    /** Each request as `command` or `command@offset` or `command:state:release:reason`. */
    log: () =>
      seen.requests.map((r) =>
        r.command == Command.CODE_CHUNK
          ? `4@${r.chunk?.offset}`
          : r.command == Command.UPDATE_REPORT
          ? `5:${r.update?.state}:${r.update?.release}:${r.error}`
          : `${r.command}`
      ),
    close() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // closed by the board
        }
      }
    },
  };
}

/**
 * An update build (1.0.0) installed as `flash` installs it, with `files`
 * over it, booted against `host`; `fn` gets the board, the host and the
 * next release's code (1.0.1, for the same host).
 */
async function withBoard(
  host: Host,
  files: Record<string, string>,
  fn: (board: Board, server: ReturnType<typeof serve>, next: Firmware) => Promise<void>,
): Promise<void> {
  let code = new Uint8Array();
  const server = serve(host, () => code);
  const dir = await Deno.makeTempDir();
  try {
    const old = await firmwareAt(server.port, "1.0.0");
    const next = await firmwareAt(server.port, "1.0.1");
    code = new TextEncoder().encode(next.code);
    const storageFile = `${dir}/flash.json`;
    const installed = { ...installFiles(old, await bootCode()), ...files };
    await Deno.writeTextFile(storageFile, JSON.stringify(installed));
    const board = await Board.boot({
      storageFile,
      speed: SPEED,
      echo: Deno.env.get("ECHO") ? (l) => console.log(l) : undefined,
    });
    try {
      await board.waitFor(/^Ready/);
      await fn(board, server, next);
      assert.deepEqual(board.matching(/Uncaught|HARNESS/), []);
    } finally {
      await board.close();
    }
  } finally {
    server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Sends a digit and waits for its verdict, then lets what follows it (update requests) settle. */
async function classify(board: Board): Promise<void> {
  assert.match(await board.answer(), /^Predicted: 3, expected: \d$/);
  await new Promise((resolve) => setTimeout(resolve, 300));
}

const RELEASE = "mnist-device/1.0.1+0badc0de";

Deno.test("code that throws a long message at start: the roll-back's report still reads whole, cut to its room", async () => {
  const thrown = "TypeError: Cannot read property 'digit' of undefined";
  await withBoard({ offer: () => null }, {
    [File.APP1]: `throw new TypeError("Cannot read property 'digit' of undefined")`,
    [File.STATE]: JSON.stringify({ a: File.APP1, b: File.APP0, t: 1, v: RELEASE }),
  }, async (board, server) => {
    await board.waitFor(new RegExp(`^Boot: back to mnist0\\.js: ${thrown}$`));
    // At start-up: the report goes, and its answer comes, before the digit.
    await board.waitFor(/^Update mnist-device\/1\.0\.1\+0badc0de 6 TypeError/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await classify(board);
    // The report goes at start-up: readable, the reason cut to the 31 bytes the request has for it.
    assert.deepEqual(server.seen.unreadable, []);
    assert.deepEqual(server.log().slice(0, 1), [`5:6:${RELEASE}:${thrown.slice(0, 31)}`]);
  });
});

Deno.test("a chunk past the size offered: one FAILED report the server can read, then no more", async () => {
  // 100 bytes offered, 512 sent: Storage refuses the write ("Too much data for file size").
  await withBoard(
    { offer: () => ({ release: RELEASE, size: 100, crc32: 0 }) },
    {},
    async (board, server) => {
      await classify(board);
      await board.waitFor(
        /^Update mnist-device\/1\.0\.1\+0badc0de 5 Error: Too much data for file size$/,
      );
      await classify(board);
      await classify(board);
      assert.deepEqual(server.seen.unreadable, []);
      assert.deepEqual(server.log(), [
        "1",
        "4@0",
        `5:5:${RELEASE}:Error: Too much data for file s`,
        "1",
        "1",
      ]);
      assert.equal(board.reboots, 0);
    },
  );
});

Deno.test("a release name longer than an update request holds: every request the board sends still reads", async () => {
  const release = "mnist-device/1.0.1+" + "f".repeat(60);
  await withBoard(
    { offer: () => ({ release, size: 3000, crc32: 0 }) },
    {},
    async (board, server) => {
      await classify(board);
      await classify(board);
      assert.deepEqual(server.seen.unreadable, []);
      for (const r of server.seen.requests.filter((r) => r.command != Command.INFERENCE_INPUT)) {
        assert.equal((r.chunk ?? r.update)?.release, release.slice(0, MAX_RELEASE_ID));
      }
    },
  );
});

Deno.test("a release offered again after its download failed the check is not fetched again: one restart, not one per request", async () => {
  await withBoard(
    {
      offer: () => ({ release: RELEASE, size: 2048, crc32: 12345 }),
      chunk: (r) => {
        const data = new Uint8Array(512).fill(65);
        const chunk = { release: RELEASE, offset: r.chunk!.offset, data, crc32: crc32(data) };
        return encodeReply({ command: 4, requestId: r.requestId, chunk }, true);
      },
    },
    {},
    async (board, server) => {
      await classify(board);
      await board.waitFor(/^Update mnist-device\/1\.0\.1\+0badc0de 5 CRC-32$/);
      await board.waitFor(/^Ready/, { count: 2 });
      for (let i = 0; i < 4; i++) await classify(board);
      assert.equal(board.reboots, 1, server.log().join(" "));
      assert.equal(server.log().filter((r) => r == "4@0").length, 1);
      assert.equal(server.log().filter((r) => r.startsWith("5:5:")).length, 1);
    },
  );
});

Deno.test("the release the board runs, offered again after its update: not fetched again", async () => {
  let release = "";
  let code = new Uint8Array();
  await withBoard(
    { offer: () => ({ release, size: code.length, crc32: crc32(code) }) },
    {},
    async (board, server, next) => {
      code = new TextEncoder().encode(next.code);
      release = "mnist-device/" + next.version;
      await classify(board);
      await board.waitFor(/^Ready/, { count: 2 });
      assert.equal(await board.repl("VERSION"), next.version);
      for (let i = 0; i < 4; i++) await classify(board);
      assert.equal(board.reboots, 1, server.log().join(" "));
      assert.equal(server.log().filter((r) => r == "4@0").length, 1);
    },
  );
});

Deno.test("a host that offers and never answers a chunk request: after four tries the download fails, one report, no more asking", async () => {
  await withBoard(
    { offer: () => ({ release: RELEASE, size: 3000, crc32: 0 }), chunk: () => null },
    {},
    async (board, server) => {
      // Each reply to a digit carries the download on; each chunk request goes unanswered.
      for (let i = 1; i <= 4; i++) {
        await classify(board);
        await board.waitFor(/^Server: no reply; retry in/, { count: i });
      }
      await classify(board);
      await board.waitFor(/^Update mnist-device\/1\.0\.1\+0badc0de 5 bad chunks$/);
      for (let i = 0; i < 3; i++) await classify(board);
      assert.deepEqual(server.log().filter((r) => r != "1"), [
        ...Array(4).fill("4@0"),
        `5:5:${RELEASE}:bad chunks`,
      ]);
      assert.equal(board.matching(/^Server: no reply/).length, 4);
    },
  );
});
