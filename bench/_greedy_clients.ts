/**
 * Greedy clients of the board port, for `bench:limits neighbours`, in a
 * Worker so that their replies cost the measuring client's event loop
 * nothing: framed clients that keep `depth` requests outstanding (one more
 * for each reply), and clients that send without ever reading (connecting
 * again whenever the server closes them). Posted `{port, flooders,
 * nonReaders, depth}` it starts them; posted "stop", it stops them and posts
 * the flooders' replies counted by status.
 *
 * @example
 * ```ts
 * import { startServer } from "../server/server.ts";
 * import { Logger } from "../server/log.ts";
 *
 * const log = new Logger("error", () => {}); // quiet: flooders' digits may still queue at shutdown
 * const server = await startServer({ hostname: "127.0.0.1", port: 0, httpPort: 0, log });
 * const greedy = new Worker(new URL("./_greedy_clients.ts", import.meta.url), { type: "module" });
 * const counted = new Promise((resolve) => greedy.onmessage = (e) => resolve(e.data));
 * greedy.postMessage({ port: server.addr.port, flooders: 2, nonReaders: 0, depth: 16 });
 * await new Promise((resolve) => setTimeout(resolve, 500));
 * greedy.postMessage("stop");
 * console.log(await counted); // the flooders' replies by status, e.g. { OK: 409 }
 * greedy.terminate();
 * await server.shutdown();
 * ```
 * @module
 */
/// <reference lib="deno.worker" />
import { decodeReply } from "../shared/reply_codec.ts";
import { statusName, WireError } from "../shared/errors.ts";
import { FrameDecoder } from "../shared/frame.ts";
import { writeAll } from "../server/write_all.ts";
import { framedBatch } from "../server/testing/server.ts";

type Counts = Record<string, number>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A greedy framed client: keeps `depth` requests outstanding (one more for
 * each reply) until `stop.done`; counts its replies by status.
 */
async function flooder(port: number, depth: number, stop: { done: boolean }, counts: Counts) {
  const window = framedBatch(depth);
  const size = window.length / depth;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const frames = new FrameDecoder(1 << 20);
  const buf = new Uint8Array(64 * 1024);
  try {
    await writeAll(conn, window);
    while (!stop.done) {
      const n = await conn.read(buf);
      if (n === null) break;
      frames.push(buf.subarray(0, n));
      let replies = 0;
      for (let p = frames.next(); p !== null; p = frames.next(), replies++) {
        const reply = p instanceof WireError ? p : decodeReply(p);
        const key = reply instanceof WireError ? "invalid" : statusName(reply.status);
        counts[key] = (counts[key] ?? 0) + 1;
      }
      if (replies) await writeAll(conn, window.subarray(0, replies * size));
    }
  } catch { /* closed by the server */ }
  conn.close();
}

/** A client that sends without ever reading; connects again whenever the server closes it. */
async function nonReader(port: number, stop: { done: boolean }, counts: Counts) {
  const flood = framedBatch(5000);
  while (!stop.done) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    // Blocks once the server stops reading it; ends when the server closes it at its write
    // deadline. If it all went out, a byte now and then finds out when the server closes it.
    await writeAll(conn, flood).catch(() => {});
    while (!stop.done && await conn.write(new Uint8Array(1)).then(() => true, () => false)) {
      await sleep(100);
    }
    counts.nonReaderCloses = (counts.nonReaderCloses ?? 0) + 1;
    conn.close();
  }
}

const stop = { done: false };
const counts: Counts = {};
let running: Promise<void>[] = [];

self.onmessage = async (e: MessageEvent) => {
  if (e.data === "stop") {
    stop.done = true;
    await Promise.all(running);
    self.postMessage(counts);
    return;
  }
  const { port, flooders, nonReaders, depth } = e.data;
  running = [
    ...Array.from({ length: flooders }, () => flooder(port, depth, stop, counts)),
    ...Array.from({ length: nonReaders }, () => nonReader(port, stop, counts)),
  ];
};
