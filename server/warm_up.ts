/**
 * Warm before ready: before the start line, the server sends its own request
 * path real requests over loopback for a start-up budget (`--warm-up-ms`), so
 * that the JIT has compiled that path, and the engines have run full batches,
 * before the first client comes: a fresh server then serves at its warm rate
 * from its first second instead of spending its first tens of thousands of
 * requests at three quarters of it.
 *
 * Framed connections send what boards and pipelining clients send: many
 * connections one inference at a time (as many as a busy fleet opens at once,
 * so accepting and per-connection setup warm too), a few pipelining bursts
 * that fill whole batches, and a stats request (the board port: accepting,
 * framing, the handler, the queue's lanes and batches, the engines, the
 * ordered replies), while HTTP keep-alive clients post OIP infers, in JSON
 * and with binary tensors (`Inference-Header-Content-Length`), over raw
 * HTTP/1.1 (no client library's cost in the server's own event loop). The
 * requests are real ones through the real sockets; the server keeps them out
 * of its metrics, dashboard, capture and observers (the monitor counts them
 * in a throwaway twin, so its code warms too), and is not ready while it
 * warms. Some clients open a connection per request, legacy ones included,
 * so that accepting and closing connections warm as well; a client that is
 * refused (legacy denied, a limit) stops. With device tokens on, framed and
 * HTTP requests are refused (they carry none), which still warms every part
 * but the engines.
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
import { Command, decodeReply, encodeRequest } from "../shared/codec.ts";
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
  /** HTTP replies with status 200 to binary-tensor infers. */
  httpBinaryOk: number;
  /** Board connections opened at once. */
  connections: number;
  /** Replies to requests that had a connection each (legacy, and framed reconnects). */
  churned: number;
  /** How long it took, ms. */
  ms: number;
}

/**
 * Framed connections that warm at once, each with the requests it sends per
 * burst: many one at a time (boards) and a few pipelining, so that lanes and
 * batches form as under load.
 */
const BURSTS = [...Array(192).fill(1), 32, 32, 32, 32];

/**
 * Clients that open a connection per request and close it (legacy clients do
 * so by the protocol; boards reconnect), so that accepting, setting up and
 * closing a connection warm too: a fleet's first second opens hundreds.
 */
const CHURN = ["framed", "framed", "legacy", "legacy"] as const;

/** HTTP keep-alive clients that warm at once: JSON and binary tensors, alternately. */
const HTTP_CLIENTS = 4;

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
  const report: WarmUpReport = {
    framed: 0,
    http: 0,
    httpBinaryOk: 0,
    connections: 0,
    churned: 0,
    ms: 0,
  };
  if (budgetMs <= 0) return report;
  const stop = new AbortController();
  const giveUp = setTimeout(() => stop.abort(), budgetMs + GRACE_MS);
  const framed = BURSTS.map((burst, i) =>
    warmFramed(target.board, until, burst, i, stop.signal, () => report.connections++)
      .then((n) => report.framed += n)
  );
  const churn = CHURN.map((protocol, i) =>
    warmChurn(target.board, until, protocol === "legacy", i, stop.signal)
      .then((n) => report.churned += n)
  );
  const http = target.http
    ? Array.from(
      { length: HTTP_CLIENTS },
      (_, i) =>
        warmHttp(target.http!, target.model, i % 2 === 1, until, stop.signal)
          .then(({ replies, ok }) => {
            report.http += replies;
            if (i % 2 === 1) report.httpBinaryOk += ok;
          }),
    )
    : [];
  // A warm-up that fails (a port closed under it) only ends early: serving does not depend on it.
  await Promise.allSettled([...framed, ...churn, ...http]);
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
  onConnected: () => void,
): Promise<number> {
  const conn = await Deno.connect(reachable(addr));
  onConnected();
  const release = closeOnAbort(conn, signal);
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
    release();
    if (!signal.aborted) conn.close();
  }
}

/**
 * One client that sends a request per connection until `until`: framed
 * (it closes after the reply) or legacy (784 floats, as old clients send;
 * the server closes after its 96-byte reply). Resolves with the replies.
 */
async function warmChurn(
  addr: Deno.NetAddr,
  until: number,
  legacy: boolean,
  seed: number,
  signal: AbortSignal,
): Promise<number> {
  const digit = digitFor(seed);
  const request = encodeRequest(
    legacy
      ? {
        command: Command.INFERENCE_INPUT,
        requestId: 1,
        digit: Float32Array.from(digit, (v) => v / 255),
      }
      : { command: Command.INFERENCE_INPUT, requestId: 1, digitU8: digit },
    !legacy,
  );
  const buf = new Uint8Array(4096);
  let replies = 0;
  while (performance.now() < until && !signal.aborted) {
    const conn = await Deno.connect(reachable(addr));
    const release = closeOnAbort(conn, signal);
    try {
      for (let written = 0; written < request.length;) {
        written += await conn.write(request.subarray(written));
      }
      const frames = legacy ? null : new FrameDecoder(4096);
      let reply: Uint8Array | WireError | null = null;
      for (let got = 0; reply === null;) {
        const n = await conn.read(legacy ? buf.subarray(got) : buf);
        if (n === null) {
          if (legacy && got > 0) reply = buf.slice(0, got);
          break;
        }
        got += n;
        if (frames) {
          frames.push(buf.subarray(0, n));
          reply = frames.next();
        } else if (got === buf.length) break;
      }
      // A refusal (legacy denied, tokens required, a limit) ends this client: more would only be refused.
      const answer = reply instanceof Uint8Array ? decodeReply(reply) : null;
      if (!answer || answer instanceof WireError || answer.status !== 0) return replies;
      replies++;
    } finally {
      release();
      if (!signal.aborted) conn.close();
    }
  }
  return replies;
}

/** Closes `conn` when the warm-up gives up (at once if it has), which ends a read still waiting; returns the undo. */
function closeOnAbort(conn: Deno.Conn, signal: AbortSignal): () => void {
  const abandon = () => conn.close();
  if (signal.aborted) abandon();
  else signal.addEventListener("abort", abandon, { once: true });
  return () => signal.removeEventListener("abort", abandon);
}

/** Reads one HTTP/1.1 reply (a head with `content-length`, then that many bytes): its status, 0 at the end. */
async function readHttpReply(conn: Deno.Conn, buf: Uint8Array): Promise<number> {
  let got = 0;
  for (;;) {
    const n = await conn.read(buf.subarray(got));
    if (n === null) return 0;
    got += n;
    const head = new TextDecoder().decode(buf.subarray(0, got));
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) {
      if (got === buf.length) return 0;
      continue;
    }
    const length = Number(head.match(/\r\ncontent-length:\s*(\d+)/i)?.[1] ?? NaN);
    if (!Number.isFinite(length) || end + 4 + length > buf.length) return 0;
    while (got < end + 4 + length) {
      const more = await conn.read(buf.subarray(got));
      if (more === null) return 0;
      got += more;
    }
    return Number(head.slice(9, 12)) || 0;
  }
}

/**
 * One HTTP keep-alive client's OIP infers (JSON, or with `binary` the binary
 * tensor data extension) until `until`; resolves with the replies it read
 * and how many of them were 200.
 */
async function warmHttp(
  addr: Deno.NetAddr,
  model: string,
  binary: boolean,
  until: number,
  signal: AbortSignal,
): Promise<{ replies: number; ok: number }> {
  const conn = await Deno.connect(reachable(addr));
  const release = closeOnAbort(conn, signal);
  const digit = digitFor(1);
  const input = { name: "input", datatype: "UINT8", shape: [1, 784] };
  const json = new TextEncoder().encode(JSON.stringify({
    inputs: [
      binary ? { ...input, parameters: { binary_data_size: 784 } } : { ...input, data: [...digit] },
    ],
  }));
  const body = binary ? new Uint8Array([...json, ...digit]) : json;
  const head = `POST /v2/models/${encodeURIComponent(model)}/infer HTTP/1.1\r\nhost: warm-up\r\n` +
    `content-type: ${binary ? "application/octet-stream" : "application/json"}\r\n` +
    (binary ? `inference-header-content-length: ${json.length}\r\n` : "") +
    `content-length: ${body.length}\r\n\r\n`;
  const request = new Uint8Array([...new TextEncoder().encode(head), ...body]);
  const buf = new Uint8Array(64 * 1024);
  const count = { replies: 0, ok: 0 };
  try {
    while (performance.now() < until) {
      for (let written = 0; written < request.length;) {
        written += await conn.write(request.subarray(written));
      }
      const status = await readHttpReply(conn, buf);
      if (status === 0) return count;
      count.replies++;
      if (status === 200) count.ok++;
    }
    return count;
  } finally {
    release();
    if (!signal.aborted) conn.close();
  }
}
