// The built firmware, end to end: the bundle runs on the harness's stand-in
// Espruino (harness.ts) and talks over real loopback sockets to the real
// server with the real model. Everything is asserted on what the board
// prints. Board time runs faster in the tests that wait for timeouts and
// back-offs; no test asserts how long anything took.
import assert from "node:assert/strict";
import { Logger } from "../server/log.ts";
import { startServer } from "../server/server.ts";
import { type InferenceServer } from "../server/inference_server.ts";
import { clientName, type Firmware } from "./build.ts";
import { requestTemplate } from "./request.ts";
import { Board, type BoardOptions, firmwareFor } from "./harness.ts";

const quiet = new Logger("error", () => {});

function serve(port = 0): Promise<InferenceServer> {
  return startServer({ hostname: "127.0.0.1", port, log: quiet });
}

/** A board running `firmware`, started up; closed (and checked for crashes) by `fn`'s end. */
async function withBoard(
  firmware: Firmware,
  options: BoardOptions,
  fn: (board: Board) => Promise<void>,
): Promise<void> {
  const board = await Board.start(firmware.code, options);
  try {
    await board.waitFor(/^Ready/);
    await fn(board);
    assert.deepEqual(board.matching(/Uncaught|HARNESS/), [], board.lines.join("\n"));
  } finally {
    await board.close();
  }
}

/** The result block legacy firmware printed, line by line, and the verdict after it. */
const BLOCK = [
  /^======== Results ========$/,
  /^Inference time in ms: \d+\.\d{3}$/,
  ...Array.from({ length: 10 }, (_, i) => new RegExp(`^out\\[${i}\\]: [01]\\.\\d{6}$`)),
  /^Transaction time: \d+ ms$/,
];

/** Checks every result block printed from `from` on; returns their verdict lines. */
function blocks(board: Board, from = 0): string[] {
  const lines = board.lines.slice(from);
  const verdicts: string[] = [];
  lines.forEach((line, i) => {
    if (line !== "======== Results ========") return;
    BLOCK.forEach((pattern, k) => assert.match(lines[i + k], pattern));
    const scores = lines.slice(i + 2, i + 12).map((l) => Number(l.split(": ")[1]));
    assert.ok(Math.abs(scores.reduce((a, b) => a + b) - 1) < 1e-4, "probabilities sum to 1");
    verdicts.push(lines[i + 13]);
  });
  return verdicts;
}

Deno.test("framed: start-up, the ten bundled digits, each classified right, one connection", async () => {
  const server = await serve();
  try {
    const firmware = await firmwareFor(server.addr.port);
    await withBoard(firmware, {}, async (board) => {
      assert.deepEqual(board.lines, [
        `mnist-device ${firmware.version}`,
        `server 127.0.0.1:${server.addr.port}, framed, token none`,
        "No WiFi module",
        "Ready, 0 vars used",
      ]);
      assert.equal(await board.repl("VERSION"), firmware.version);
      for (let k = 0; k < 10; k++) await board.answer();
      assert.deepEqual(
        blocks(board),
        Array.from({ length: 10 }, (_, k) => `Predicted: ${k}, expected: ${k}`),
      );
      const stats = await board.stats();
      assert.equal(stats.connects, 1, "keep-alive: one connection for every request");
      assert.equal(stats.toStringBuffers, 1, "one request buffer");
      // Written a piece at a time, one per drain: never a copy of the whole request.
      assert.equal(stats.largestWrite, 64);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("test(pixels) sends the caller's 784 bytes; anything else is refused", async () => {
  const server = await serve();
  try {
    await withBoard(await firmwareFor(server.addr.port), {}, async (board) => {
      // A one: a vertical bar.
      const bar = "new Uint8Array(784).map(function(v,i){return i%28>12&&i%28<16?255:0})";
      assert.match(await board.answer(`test(${bar})`), /^Predicted: 1$/);
      assert.equal(await board.answer("test([1,2,3])", /^Need/), "Need 784 bytes");
      // A second request while one is in flight.
      const from = board.lines.length;
      await board.repl("test(); test()");
      await board.waitFor(/^Predicted/, { from });
      assert.deepEqual(board.matching(/^Busy$/, from), ["Busy"]);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("legacy: floats, a 96-byte reply, one connection per request", async () => {
  const server = await serve();
  try {
    const firmware = await firmwareFor(server.addr.port, { protocol: "legacy" });
    await withBoard(firmware, {}, async (board) => {
      assert.match(board.lines[1], /^server 127\.0\.0\.1:\d+, legacy, token none$/);
      for (let k = 0; k < 10; k++) await board.answer();
      assert.deepEqual(
        blocks(board),
        Array.from({ length: 10 }, (_, k) => `Predicted: ${k}, expected: ${k}`),
      );
      const stats = await board.stats();
      assert.equal(stats.connects, 10);
      assert.equal(stats.openSockets, 0);
      // Made once and reused: one piece of floats, half a row of the digit at a time
      // (the head goes first, straight from the build's template).
      assert.equal(stats.toStringBuffers, 1);
      assert.equal(stats.largestWrite, 14 * 4);
      assert.equal(
        stats.bytesWritten,
        10 * 3180,
        "a legacy request is 3,180 bytes, as the old client's",
      );
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("100 requests reuse one request buffer and one connection, and leave nothing behind", async () => {
  const server = await serve();
  try {
    // Every framed request is the whole template (the client string goes
    // with the first only, but its bytes are always there, switched off),
    // written 64 bytes at a time.
    const { size } = requestTemplate("framed", clientName("01234567"));
    await withBoard(await firmwareFor(server.addr.port), {}, async (board) => {
      for (let i = 0; i < 100; i++) await board.answer();
      assert.equal(blocks(board).length, 100);
      const stats = await board.stats();
      assert.deepEqual(
        [
          stats.toStringCalls,
          stats.toStringBuffers,
          stats.connects,
          stats.openSockets,
          stats.timers,
        ],
        [100 * Math.ceil(size / 64), 1, 1, 1, 0],
      );
      assert.equal(stats.bytesWritten, 100 * size, `a framed request is ${size} bytes`);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("replies in pieces of 7 bytes, and slow ones, still make one result", async () => {
  const server = await serve();
  try {
    for (const protocol of ["framed", "legacy"] as const) {
      const firmware = await firmwareFor(server.addr.port, { protocol });
      await withBoard(firmware, { chunk: 7, speed: 5 }, async (board) => {
        assert.match(await board.answer(), /^Predicted: 0, expected: 0$/);
        // Slow: each piece 1 s apart in board time, the whole reply within the 5 s timeout.
        board.network({ chunk: 268, delayMs: 1000 });
        assert.match(await board.answer(), /^Predicted: 1, expected: 1$/);
        assert.equal(blocks(board).length, 2);
      });
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("a reply later than 5 s: one line, then the next request works", async () => {
  const server = await serve();
  try {
    await withBoard(await firmwareFor(server.addr.port), { speed: 5 }, async (board) => {
      board.network({ delayMs: 8000 });
      assert.equal(await board.answer("test()", /^Server/), "Server: no reply; retry in 1 s");
      board.network({ delayMs: 0 });
      assert.match(await board.answer(), /^Predicted: 1, expected: 1$/);
      assert.equal((await board.stats()).connects, 2, "the late connection was dropped");
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("start(1)...stop(): polls, start again replaces, stop stops", async () => {
  const server = await serve();
  try {
    await withBoard(await firmwareFor(server.addr.port), { speed: 5 }, async (board) => {
      assert.equal(await board.answer("start(0)", /^Need/), "Need seconds > 0");
      let from = board.lines.length;
      await board.repl("start(1)");
      await board.repl("start(1)");
      await board.waitFor(/^Predicted/, { from, count: 4 });
      assert.deepEqual(board.matching(/^Polling/, from), [
        "Polling every 1 s",
        "Polling every 1 s",
      ]);
      const stats = await board.stats();
      assert.ok(stats.timers <= 2, `one interval (and a reply timeout): ${stats.timers} timers`);
      assert.equal(await board.answer("stop()", /^Stopped/), "Stopped");
      // A request in flight still ends (its reply timeout the last timer); after that, two board
      // seconds of nothing.
      const sleep = () => new Promise((resolve) => setTimeout(resolve, 400));
      for (let i = 0; (await board.stats()).timers > 0; i++) {
        assert.ok(i < 100, "the request in flight ended");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      from = board.lines.length;
      await sleep();
      assert.deepEqual(board.lines.slice(from), []);
      assert.equal((await board.stats()).timers, 0);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("server down, then back: one line per refused attempt, back-off, polling goes on", async () => {
  let server = await serve();
  const port = server.addr.port;
  try {
    for (const refuseAtOnce of [false, true]) {
      const firmware = await firmwareFor(port);
      await withBoard(firmware, { speed: 5 }, async (board) => {
        await board.answer();
        const idle = board.lines.length;
        await server.shutdown();
        // The idle connection's close reaches the board, which says nothing.
        while ((await board.stats()).openSockets) await new Promise((r) => setTimeout(r, 20));
        board.network({ refuseAtOnce });
        const from = board.lines.length;
        await board.repl("start(1)");
        const why = refuseAtOnce ? "InternalError: Unable to create socket" : "connection reset";
        await board.waitFor(/^Server/, { from, count: 2 });
        // The idle connection's close said nothing; each refused attempt, one line.
        const lines = board.lines.slice(idle);
        assert.equal(lines[0], "Polling every 1 s");
        assert.deepEqual(lines.slice(1, 3), [
          `Server: ${why}; retry in 1 s`,
          `Server: ${why}; retry in 2 s`,
        ]);
        server = await serve(port);
        board.network({ refuseAtOnce: false });
        await board.waitFor(/^Predicted/, { from });
        assert.equal(await board.answer("stop()", /^Stopped/), "Stopped");
      });
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("WiFi: saved credentials, an SSID of the build, and a network that never answers", async () => {
  const server = await serve();
  try {
    const saved = await firmwareFor(server.addr.port);
    await withBoard(saved, { wifi: "saved" }, async (board) => {
      assert.deepEqual(board.lines.slice(2), [
        "WiFi: connecting",
        "WiFi: IP 192.168.4.2",
        "Ready, 0 vars used",
      ]);
      assert.equal((await board.stats()).wifiConnect, null);
      await board.answer();
    });
    const built = await firmwareFor(server.addr.port, { ssid: "home", password: "pass word" });
    await withBoard(built, { wifi: "saved" }, async (board) => {
      assert.deepEqual(board.lines.slice(2), [
        "WiFi: connecting",
        "WiFi: IP 192.168.4.2",
        "Ready, 0 vars used",
      ]);
      assert.deepEqual((await board.stats()).wifiConnect, { ssid: "home", password: "pass word" });
    });
    await withBoard(saved, { wifi: "connected" }, (board) => {
      assert.deepEqual(board.lines.slice(2), ["WiFi: IP 192.168.4.2", "Ready, 0 vars used"]);
      return Promise.resolve();
    });
    await withBoard(saved, { wifi: "never", speed: 20 }, (board) => {
      assert.deepEqual(board.lines.slice(2), [
        "WiFi: connecting",
        "WiFi: no IP in 30 s",
        "Ready, 0 vars used",
      ]);
      return Promise.resolve();
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("start-up runs once, from flash (code then 'init') or from RAM (code only)", async () => {
  const firmware = await firmwareFor(1);
  for (const boot of ["flash", "ram"] as const) {
    await withBoard(firmware, { boot }, async (board) => {
      await board.repl("1");
      assert.equal(board.matching(/^mnist-device /).length, 1, boot);
      // A board restored from a saved RAM image gets 'init' again, and starts up again.
      await board.repl("E.emit('init')");
      await board.waitFor(/^Ready/, { count: 2 });
      assert.equal(board.matching(/^mnist-device /).length, 2, boot);
    });
  }
});

Deno.test("start(seconds) from the build's settings: the board polls from start-up", async () => {
  const server = await serve();
  try {
    const firmware = await firmwareFor(server.addr.port, { poll: 1 });
    await withBoard(firmware, { speed: 5 }, async (board) => {
      await board.waitFor(/^Predicted/, { count: 2 });
      assert.equal(board.lines[4], "Polling every 1 s");
      await board.answer("stop()", /^Stopped/);
    });
  } finally {
    await server.shutdown();
  }
});
