/**
 * Warm before ready: before the start line, the server sends its own request
 * path real requests over loopback for a start-up budget (`--warm-up-ms`), so
 * that the JIT has compiled that path, and the engines have run full batches,
 * before the first client comes: a fresh server then serves at its warm rate
 * from its first second instead of spending its first tens of thousands of
 * requests at three quarters of it.
 *
 * Framed connections send what boards and pipelining clients send: many
 * connections one inference at a time, a few pipelining bursts of inferences
 * and a stats request (the board port: accepting, framing, the handler, the
 * queue's lanes and batches, the engines, the ordered replies), while an HTTP
 * client posts OIP JSON infers (the HTTP path). The
 * requests are real ones through the real sockets; the server keeps them out
 * of its metrics, dashboard, capture and observers (`Monitor.quiet`), and is
 * not ready while it warms. With device tokens on, the requests are refused
 * (they carry none), which still warms every part but the engines.
 *
 * @example
 * ```ts
 * import { warmUp } from "./warm_up.ts";
 * import { startServer } from "./server.ts";
 *
 * const server = await startServer({ port: 0, httpPort: null, warmUpMs: 0 });
 * const report = await warmUp({ board: server.addr, http: null, model: server.queue.model }, 200);
 * console.log(report.framed > 0); // true
 * await server.shutdown();
 * ```
 * @module
 */
import { Command, encodeRequest } from "../shared/codec.ts";
import { WireError } from "../shared/errors.ts";
import { FrameDecoder } from "../shared/frame.ts";

/** Where the warm-up sends. */
export interface WarmUpTarget {
  /** The board port's address (a wildcard host is reached on loopback). */
  board: Deno.NetAddr;
  /** The HTTP port's address, or null without HTTP. */
  http: Deno.NetAddr | null;
  /** The model HTTP infers name (the default model's name). */
  model: string;
}

/** What the warm-up did. */
export interface WarmUpReport {
  /** Framed replies and HTTP replies received. */
  framed: number;
  http: number;
  /** How long it took, ms. */
  ms: number;
}

/**
 * Framed connections that warm at once, each with the requests it sends per
 * burst: many one at a time (boards) and a few pipelining, so that lanes and
 * batches form as under load.
 */
const BURSTS = [...Array(32).fill(1), 32, 32];

/** How long past its budget a warm-up may wait for its last replies before it gives up on them. */
const GRACE_MS = 2_000;

/**
 * Sends the request path real requests for `budgetMs`, then resolves once
 * the last bursts are answered: at most `GRACE_MS` later, when whatever is
 * still waiting is abandoned (a server that does not answer starts anyway).
 */
export async function warmUp(target: WarmUpTarget, budgetMs: number): Promise<WarmUpReport> {
  const started = performance.now();
  const until = started + budgetMs;
  const report: WarmUpReport = { framed: 0, http: 0, ms: 0 };
  if (budgetMs <= 0) return report;
  const stop = new AbortController();
  const giveUp = setTimeout(() => stop.abort(), budgetMs + GRACE_MS);
  const framed = BURSTS.map((burst, i) =>
    warmFramed(target.board, until, burst, i, stop.signal).then((n) => report.framed += n)
  );
  const http = target.http
    ? warmHttp(target.http, target.model, until, stop.signal).then((n) => report.http += n)
    : Promise.resolve();
  // A warm-up that fails (a port closed under it) only ends early: serving does not depend on it.
  await Promise.allSettled([...framed, http]);
  clearTimeout(giveUp);
  report.ms = performance.now() - started;
  return report;
}

/** The address to connect to for a listener on `addr`: loopback for a wildcard host. */
function reachable(addr: Deno.NetAddr): { hostname: string; port: number } {
  const wildcard = addr.hostname === "0.0.0.0" ? "127.0.0.1" : addr.hostname === "::" ? "::1" : "";
  return { hostname: wildcard || addr.hostname, port: addr.port };
}

/** A digit that varies with `seed`, so the engines see more than one input. */
function digitFor(seed: number): Uint8Array {
  const digit = new Uint8Array(784);
  for (let i = 0; i < 784; i++) digit[i] = (i * 7 + seed * 31) % 256 > 180 ? 255 : 0;
  return digit;
}

/**
 * One framed connection's bursts of `size` inferences (and a stats request
 * after a pipelined one) until `until`; resolves with the replies it read.
 */
async function warmFramed(
  addr: Deno.NetAddr,
  until: number,
  size: number,
  seed: number,
  signal: AbortSignal,
): Promise<number> {
  const conn = await Deno.connect(reachable(addr));
  // Giving up closes the connection, which ends a read still waiting.
  const abandon = () => conn.close();
  signal.addEventListener("abort", abandon, { once: true });
  const parts: Uint8Array[] = [];
  for (let i = 0; i < size; i++) {
    parts.push(
      encodeRequest({
        command: Command.INFERENCE_INPUT,
        requestId: i + 1,
        digitU8: digitFor(seed * 64 + i),
      }, true),
    );
  }
  if (size > 1) {
    parts.push(encodeRequest({ command: Command.GET_STATS, requestId: size + 1 }, true));
  }
  const burst = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    burst.set(p, at);
    at += p.length;
  }
  const frames = new FrameDecoder(64 * 1024);
  const buf = new Uint8Array(64 * 1024);
  let replies = 0;
  try {
    while (performance.now() < until) {
      for (let written = 0; written < burst.length;) {
        written += await conn.write(burst.subarray(written));
      }
      for (let got = 0; got < parts.length;) {
        const n = await conn.read(buf);
        if (n === null) return replies;
        frames.push(buf.subarray(0, n));
        for (let reply = frames.next(); reply !== null; reply = frames.next()) {
          if (reply instanceof WireError) return replies;
          got++;
        }
      }
      replies += parts.length;
    }
    return replies;
  } finally {
    signal.removeEventListener("abort", abandon);
    if (!signal.aborted) conn.close();
  }
}

/** One HTTP client's OIP JSON infers until `until`; resolves with the replies it read. */
async function warmHttp(
  addr: Deno.NetAddr,
  model: string,
  until: number,
  signal: AbortSignal,
): Promise<number> {
  const { hostname, port } = reachable(addr);
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  const base = `http://${host}:${port}`;
  const body = JSON.stringify({
    inputs: [{ name: "input", datatype: "UINT8", shape: [1, 784], data: [...digitFor(1)] }],
  });
  let replies = 0;
  while (performance.now() < until) {
    const response = await fetch(`${base}/v2/models/${encodeURIComponent(model)}/infer`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
      signal,
    });
    await response.arrayBuffer();
    replies++;
  }
  return replies;
}
