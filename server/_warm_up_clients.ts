/**
 * The warm-up's clients (`warm_up.ts` starts them): framed connections that
 * send bursts, clients that open a connection per request (framed and
 * legacy), and raw HTTP/1.1 keep-alive clients posting OIP infers. Each runs
 * until its deadline or until the warm-up gives up, which closes its
 * connection; each sends at least once, so a client that connected after its
 * deadline on a busy machine still warms its path.
 *
 * @module
 */
import { Command } from "../shared/codec.ts";
import { decodeReply } from "../shared/reply_codec.ts";
import { encodeRequest } from "../shared/request_codec.ts";
import { WireError } from "../shared/errors.ts";
import { FrameDecoder } from "../shared/frame.ts";
import { concatBytes } from "../shared/bytes.ts";
import { writeAll } from "./write_all.ts";

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
export async function warmFramed(
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
  const burst = concatBytes(parts);
  const frames = new FrameDecoder(64 * 1024);
  const buf = new Uint8Array(64 * 1024);
  let replies = 0;
  try {
    do {
      await writeAll(conn, burst);
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
    } while (performance.now() < until);
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
export async function warmChurn(
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
  do {
    const conn = await Deno.connect(reachable(addr));
    const release = closeOnAbort(conn, signal);
    try {
      await writeAll(conn, request);
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
  } while (performance.now() < until && !signal.aborted);
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
export async function warmHttp(
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
    do {
      await writeAll(conn, request);
      const status = await readHttpReply(conn, buf);
      if (status === 0) return count;
      count.replies++;
      if (status === 200) count.ok++;
    } while (performance.now() < until);
    return count;
  } finally {
    release();
    if (!signal.aborted) conn.close();
  }
}
