/**
 * Helpers for the server's tests: a real server on an ephemeral loopback
 * port with the real model, raw sockets, and readers of what came back.
 *
 * @example
 * ```ts
 * import { pipelinedReplies, withServer } from "./server.ts";
 *
 * await withServer({ warmUpMs: 0 }, async (server) => {
 *   const replies = await pipelinedReplies(server, 3);
 *   console.log(replies.map((r) => r.requestId)); // [1, 2, 3]
 * });
 * ```
 * @module
 */
import assert from "node:assert/strict";
import { concatBytes } from "../../shared/bytes.ts";
import { Command } from "../../shared/codec.ts";
import { type DecodedReply, decodeReply } from "../../shared/reply_codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { statusName, WireError } from "../../shared/errors.ts";
import { FrameDecoder } from "../../shared/frame.ts";
import { Logger } from "../log.ts";
import { type ServerOptions } from "../options.ts";
import { startServer } from "../server.ts";
import { type InferenceServer } from "../inference_server.ts";
import { writeAll } from "../write_all.ts";
import { readAll } from "./conn.ts";

/** A logger that keeps its lines, for tests that check what was logged. */
export function recordingLogger(level: "error" | "warn" | "info" | "debug" = "error") {
  const lines: string[] = [];
  return { log: new Logger(level, (line) => lines.push(line)), lines };
}

/** Runs `fn` against a fresh server, then shuts it down. */
export async function withServer(
  options: ServerOptions,
  fn: (server: InferenceServer, address: { hostname: string; port: number }) => Promise<void>,
): Promise<void> {
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("error", () => {}),
    ...options,
  });
  try {
    await fn(server, address(server));
  } finally {
    await server.shutdown();
    await server.finished;
  }
}

/** Where to connect to `server`. */
export function address(server: InferenceServer): { hostname: string; port: number } {
  return { hostname: "127.0.0.1", port: server.addr.port };
}

/** Splits a byte stream of size-prefixed replies; `rest` is the bytes of a cut-off last reply. */
export function splitFramed(bytes: Uint8Array): { replies: DecodedReply[]; rest: number } {
  const frames = new FrameDecoder(1 << 20);
  frames.push(bytes);
  const replies: DecodedReply[] = [];
  for (let p = frames.next(); p !== null; p = frames.next()) {
    assert.ok(!(p instanceof WireError), String(p));
    const reply = decodeReply(p);
    assert.ok(!(reply instanceof WireError), String(reply));
    replies.push(reply);
  }
  return { replies, rest: frames.buffered };
}

/** `count` framed requests in one buffer: inference (digit bytes) or `GET_STATS`, ids from 1. */
export function framedBatch(count: number, command: number = Command.INFERENCE_INPUT): Uint8Array {
  const digitU8 = new Uint8Array(784).map((_, i) => (i * 7) & 0xff);
  const one = (id: number) =>
    encodeRequest(
      command === Command.INFERENCE_INPUT
        ? { command, requestId: id, digitU8 }
        : { command, requestId: id },
      true,
    );
  const size = one(1).length;
  const out = new Uint8Array(size * count);
  for (let i = 0; i < count; i++) out.set(one(i + 1), i * size);
  return out;
}

/**
 * The replies to `count` framed inferences written on one connection at
 * once, its write side closed after them: a pipelining board's flood.
 */
export async function pipelinedReplies(
  server: InferenceServer,
  count: number,
): Promise<DecodedReply[]> {
  const conn = await Deno.connect(address(server));
  const [bytes] = await Promise.all([
    readAll(conn),
    writeAll(conn, framedBatch(count)).then(() => conn.closeWrite()),
  ]);
  conn.close();
  return splitFramed(bytes).replies;
}

/** The status name of a `GET_STATS` answered on an open connection ("closed" when it ends first). */
export async function statsStatus(conn: Deno.Conn): Promise<string> {
  await writeAll(conn, encodeRequest({ command: Command.GET_STATS, requestId: 1 }, true));
  const buf = new Uint8Array(4096);
  let got: Uint8Array = new Uint8Array(0);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return "closed";
    got = concatBytes([got, buf.subarray(0, n)]);
    const { replies } = splitFramed(got);
    if (replies.length > 0) return statusName(replies[0].status);
  }
}

/** Runs a shell command (a subprocess, e.g. with its own `ulimit -n`); resolves with its output. */
export async function sh(
  script: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("bash", {
    args: ["-c", script],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/**
 * A client that reads slowly, for real: a Python socket with a small receive
 * buffer (which turns off the kernel's growth of it) sends `request`, ends its
 * side, then reads in small pieces with a pause. Resolves with every byte read.
 */
export async function slowReader(port: number, request: Uint8Array): Promise<Uint8Array> {
  const script = `
import socket, sys, threading, time
data = sys.stdin.buffer.read()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", ${port}))
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=send).start()
time.sleep(0.2)
out = bytearray()
while True:
    try:
        b = s.recv(4096)
    except OSError:
        break
    if not b:
        break
    out += b
    time.sleep(0.002)
sys.stdout.buffer.write(out)
`;
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(request);
  await writer.close();
  const { stdout } = await child.output();
  return stdout;
}

/** A PROXY v2 header naming `ip:port` (TCP over IPv4) as the client. */
export function proxyHeader(ip: string, port: number): Uint8Array {
  return Uint8Array.of(
    ...[0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a],
    0x21,
    0x11,
    0,
    12,
    ...ip.split(".").map(Number),
    127,
    0,
    0,
    1,
    port >> 8,
    port & 0xff,
    0x7d,
    0x01,
  );
}
