// A hostile client on the HTTP port, in process and through the listener
// Workers (`--listeners 2`): raw sockets send exactly the bytes chosen (a body
// that stops mid-way, a declared length never sent), and each answer, the
// metrics and a well-behaved client's service are compared between the two
// modes. Needs `deno test --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { Logger } from "../log.ts";
import { type ServerOptions, startServer } from "../server.ts";
import { writeAll } from "../write_all.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_workers.ts";

const encoder = new TextEncoder();
const digit = Array.from({ length: 784 }, (_, i) => (i * 7) % 251 > 120 ? 255 : 0);
const plain = JSON.stringify({
  id: "seven",
  inputs: [{ name: "input", datatype: "UINT8", shape: [1, 784], data: digit }],
});

/** Each mode's port: `fn` runs against a fresh server in process, then with two listener Workers. */
async function inBothModes<T>(
  options: ServerOptions,
  fn: (port: number) => Promise<T>,
): Promise<[T, T]> {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const results: T[] = [];
  for (const listeners of [1, 2]) {
    const server = await startServer({
      hostname: "127.0.0.1",
      port: 0,
      httpPort: 0,
      warmUpMs: 0,
      listeners,
      log: new Logger("error", () => {}),
      ...options,
    });
    try {
      results.push(await fn(server.http!.addr.port));
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
async function stalled(port: number, head: string, body: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const giveUp = setTimeout(() => conn.close(), 5000);
  try {
    await writeAll(conn, encoder.encode(`${head}\r\nhost: x\r\n\r\n${body}`));
    const bytes = new Uint8Array(4096);
    let text = "";
    for (;;) {
      const n = await conn.read(bytes.subarray(text.length)).catch(() => null);
      if (n === null) break;
      text = new TextDecoder().decode(bytes.subarray(0, text.length + n));
      const length = /content-length: (\d+)/i.exec(text);
      const end = text.indexOf("\r\n\r\n");
      if (length && end >= 0 && text.length >= end + 4 + Number(length[1])) break;
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

/** `mnist_requests_total` lines for HTTP. */
async function httpCounts(port: number): Promise<string[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith('mnist_requests_total{protocol="http"'))
    .sort();
}

Deno.test("an infer body that stops mid-way is refused at --http-body-timeout-ms, alike in both modes, and others are served meanwhile", async () => {
  const [inProcess, workers] = await inBothModes({ httpBodyTimeoutMs: 400 }, async (port) => {
    const head = `POST /v2/models/mnist/infer HTTP/1.1\r\ncontent-length: ${plain.length}`;
    const answers = [stalled(port, head, plain.slice(0, 100)), stalled(port, head, "")];
    const good = await fetch(`http://127.0.0.1:${port}/v2/models/mnist/infer`, {
      method: "POST",
      body: plain,
    });
    const served = `${good.status} ${(await good.json()).id}`;
    return [served, ...await Promise.all(answers), ...await httpCounts(port)];
  });
  assert.deepEqual(inProcess, [
    "200 seven",
    'HTTP/1.1 400 Bad Request {"error":"MALFORMED_BUFFER: the body did not arrive within 400 ms (100 bytes came)"}',
    'HTTP/1.1 400 Bad Request {"error":"MALFORMED_BUFFER: the body did not arrive within 400 ms (0 bytes came)"}',
    'mnist_requests_total{protocol="http",status="MALFORMED_BUFFER"} 2',
    'mnist_requests_total{protocol="http",status="OK"} 1',
  ]);
  assert.deepEqual(workers, inProcess);
});
