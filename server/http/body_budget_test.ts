// HTTP bodies against the buffer budget (`--max-buffered-bytes`) that the
// board port's unfinished messages share, in process and through the listener
// Workers (`--listeners 2`): raw sockets hold bodies half sent, and a board
// asks on the board port meanwhile. Needs `deno test --unstable-net`.
import assert from "node:assert/strict";
import { inBothModes, stalledRequest } from "../testing/http_modes.ts";
import { statsStatus } from "../testing/server.ts";

/** The status a board gets for `GET_STATS` on a new connection to `port`, or "closed". */
async function boardStats(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    return await statsStatus(conn).catch(() => "closed");
  } finally {
    conn.close();
  }
}

const infer = (length: number) =>
  `POST /v2/models/mnist/infer HTTP/1.1\r\ncontent-length: ${length}`;

Deno.test("HTTP uploads hold at most half of --max-buffered-bytes: boards are served while they hold all they may, alike in both modes", async () => {
  const options = { maxBufferedBytes: 65_536, httpBodyTimeoutMs: 1500 };
  const [inProcess, workers] = await inBothModes(options, async (server) => {
    const port = server.http!.addr.port;
    // Waits at most 1 s, then goes on: what the server holds by then is the answer compared.
    const settle = async (done: () => boolean) => {
      for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    const holding = stalledRequest(port, infer(100_000), "x".repeat(30_000));
    await settle(() => server.limits.buffered >= 30_000);
    // 65,000 bytes of uploads would leave a board less than its first read.
    let refused = "";
    const second = stalledRequest(port, infer(100_000), "x".repeat(35_000));
    second.then((answer) => refused = answer);
    await settle(() => refused !== "" || server.limits.buffered >= 65_000);
    const board = await boardStats(server.addr.port);
    const stillHeld = server.limits.buffered >= 30_000;
    const held = await holding;
    await second;
    await settle(() => server.limits.buffered === 0);
    return [
      refused.replace(/holding \d+ bytes/, "holding N bytes"),
      `board: ${board}`,
      `the first upload held meanwhile: ${stillHeld}`,
      held,
      `held at the end: ${server.limits.buffered}`,
    ];
  });
  assert.deepEqual(inProcess, [
    'HTTP/1.1 503 Service Unavailable {"error":"SERVER_BUSY: the server is holding N bytes of unfinished messages, the 32768 of its budget that HTTP bodies may take; try again shortly"}',
    "board: OK",
    "the first upload held meanwhile: true",
    'HTTP/1.1 400 Bad Request {"error":"MALFORMED_BUFFER: the body did not arrive within 1500 ms (30000 bytes came)"}',
    "held at the end: 0",
  ]);
  assert.deepEqual(workers, inProcess);
});
