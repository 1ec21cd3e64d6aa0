/**
 * The HTTP port in its two modes, for tests that send the same bytes to each
 * and compare: in process (`listeners` 1) and through two listener Workers
 * (`--listeners 2`, which needs `--unstable-net`). Raw sockets write exactly
 * the bytes a hostile client would: a body that stops mid-way, a declared
 * length never sent.
 *
 * @example
 * ```ts
 * import { inBothModes, stalledRequest } from "./http_modes.ts";
 *
 * if ("listenDatagram" in Deno) { // run with --unstable-net
 *   const [inProcess, workers] = await inBothModes({ httpBodyTimeoutMs: 200 }, (server) =>
 *     stalledRequest(server.http!.addr.port, "POST /nope HTTP/1.1\r\ncontent-length: 5", "{"));
 *   console.log(inProcess === workers); // true: the same answer in both modes
 * }
 * ```
 * @module
 */
import { concatBytes } from "../../shared/bytes.ts";
import { Logger } from "../log.ts";
import type { InferenceServer } from "../inference_server.ts";
import { type ServerOptions } from "../options.ts";
import { startServer } from "../server.ts";
import { writeAll } from "../write_all.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "../listeners/listener_options.ts";

const encoder = new TextEncoder();

/** A quiet server on loopback: its HTTP port in process (`listeners` 1) or in that many Workers. */
export function serverWithListeners(
  listeners: number,
  options: ServerOptions,
): Promise<InferenceServer> {
  if (listeners > 1 && !hasUnstableNet()) {
    throw new Error(NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  }
  return startServer({
    hostname: "127.0.0.1",
    port: 0,
    httpPort: 0,
    warmUpMs: 0,
    listeners,
    log: new Logger("error", () => {}),
    ...options,
  });
}

/** `fn` against a fresh server in process, then against one with two listener Workers. */
export async function inBothModes<T>(
  options: ServerOptions,
  fn: (server: InferenceServer) => Promise<T>,
): Promise<[T, T]> {
  const results: T[] = [];
  for (const listeners of [1, 2]) {
    const server = await serverWithListeners(listeners, options);
    try {
      results.push(await fn(server));
    } finally {
      await server.shutdown();
    }
  }
  return results as [T, T];
}

/**
 * Writes `head` and `body` on a new connection and keeps it open without
 * sending more; the answer's status line and body, or "no answer" in 5 s.
 */
export async function stalledRequest(
  port: number,
  head: string,
  body: string | Uint8Array,
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const giveUp = setTimeout(() => conn.close(), 5000);
  try {
    await writeAll(conn, encoder.encode(`${head}\r\nhost: x\r\n\r\n`));
    await writeAll(conn, typeof body === "string" ? encoder.encode(body) : body);
    // Read into a fresh buffer each time and kept whole, however long the answer.
    const chunk = new Uint8Array(4096);
    let got: Uint8Array = new Uint8Array(0);
    let text = "";
    for (;;) {
      const n = await conn.read(chunk).catch(() => null);
      if (n === null) break;
      got = concatBytes([got, chunk.subarray(0, n)]);
      text = new TextDecoder().decode(got);
      const length = /content-length: (\d+)/i.exec(text);
      // The head is ASCII: its end is at the same offset in bytes as in the text.
      const end = text.indexOf("\r\n\r\n");
      if (length && end >= 0 && got.length >= end + 4 + Number(length[1])) break;
    }
    if (!text) return "no answer";
    return `${text.split("\r\n")[0]} ${text.slice(text.indexOf("\r\n\r\n") + 4)}`;
  } finally {
    clearTimeout(giveUp);
    try {
      conn.close();
    } catch {
      // Closed at the 5 s mark.
    }
  }
}

/** `bytes` gzipped: a small body that inflates to `bytes.length`. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** `mnist_requests_total` lines for HTTP from `/metrics` on `port`, sorted. */
export async function httpCounts(port: number): Promise<string[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith('mnist_requests_total{protocol="http"'))
    .sort();
}
