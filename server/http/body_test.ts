// Request bodies through a real Deno.serve on loopback: limited while read
// (a chunked body that never ends is refused once it passes the limit),
// inflated when compressed (the limit counts inflated bytes), and an
// unknown encoding refused with a sentence.
import assert from "node:assert/strict";
import { WireError } from "../../shared/errors.ts";
import { readBody } from "./body.ts";

async function withEcho(max: number, fn: (url: string) => Promise<void>): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (r) => {
    const body = await readBody(r, max);
    return body instanceof WireError
      ? new Response(body.toString(), { status: 400 })
      : new Response(String(body.length));
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/`);
  } finally {
    await server.shutdown();
  }
}

async function compress(bytes: Uint8Array, format: CompressionFormat): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("a chunked body that never ends is refused once it passes the limit", async () => {
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += 16 * 1024;
      controller.enqueue(new Uint8Array(16 * 1024));
    },
  });
  const request = new Request("http://x/", { method: "POST", body: endless });
  const body = await readBody(request, 64 * 1024);
  assert.ok(body instanceof WireError);
  assert.equal(
    body.toString(),
    "FRAME_TOO_LARGE: the body is over 65536 bytes; the limit is 65536",
  );
  assert.ok(pulled <= 128 * 1024, `${pulled} bytes were read against a limit of 64 KiB`);
});

Deno.test("a declared length over the limit is refused before the body is read", async () => {
  await withEcho(1024, async (url) => {
    const response = await fetch(url, { method: "POST", body: new Uint8Array(4096) });
    assert.equal(
      await response.text(),
      "FRAME_TOO_LARGE: the body is 4096 bytes; the limit is 1024",
    );
  });
});

Deno.test("gzip and deflate bodies are inflated, and the limit counts the inflated bytes", async () => {
  await withEcho(100_000, async (url) => {
    const plain = new TextEncoder().encode(JSON.stringify({ data: new Array(5000).fill(0) }));
    for (const format of ["gzip", "deflate"] as const) {
      const response = await fetch(url, {
        method: "POST",
        body: await compress(plain, format) as Uint8Array<ArrayBuffer>,
        headers: { "content-encoding": format },
      });
      assert.equal(await response.text(), String(plain.length), format);
    }
    // A small gzip body that inflates past the limit (a "zip bomb") is refused.
    const bomb = await compress(new Uint8Array(10_000_000), "gzip");
    assert.ok(bomb.length < 100_000);
    const refused = await fetch(url, {
      method: "POST",
      body: bomb as Uint8Array<ArrayBuffer>,
      headers: { "content-encoding": "gzip" },
    });
    assert.match(await refused.text(), /^FRAME_TOO_LARGE: the body is over 100000 bytes/);
    const broken = await fetch(url, {
      method: "POST",
      body: "not gzip",
      headers: { "content-encoding": "gzip" },
    });
    assert.match(await broken.text(), /^MALFORMED_BUFFER: the body could not be read as gzip/);
    const unknown = await fetch(url, {
      method: "POST",
      body: "x",
      headers: { "content-encoding": "br" },
    });
    assert.equal(
      await unknown.text(),
      'MALFORMED_BUFFER: Content-Encoding "br" is not supported (gzip, deflate or none)',
    );
  });
});

Deno.test("a plain body of a known length is read whole, byte for byte; one over the limit is refused unread", async () => {
  const sent = new Uint8Array(200_000).map((_, i) => (i * 13) % 256);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (r) => {
    const body = await readBody(r, 300_000);
    if (body instanceof WireError) return new Response(body.toString(), { status: 400 });
    return new Response(body as Uint8Array<ArrayBuffer>);
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/`;
    const echoed = await fetch(url, { method: "POST", body: sent });
    assert.deepEqual(new Uint8Array(await echoed.arrayBuffer()), sent);
    const big = await fetch(url, { method: "POST", body: new Uint8Array(300_001) });
    assert.equal(big.status, 400);
    assert.match(await big.text(), /300001 bytes; the limit is 300000/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a body that stops arriving is cancelled and refused at its deadline, declared length or not", async () => {
  for (const declared of [true, false]) {
    let cancelled = false;
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"inputs":'));
      },
      cancel() {
        cancelled = true;
      },
    });
    const headers: Record<string, string> = declared ? { "content-length": "1000" } : {};
    const request = new Request("http://x/", { method: "POST", body: stalled, headers });
    const body = await readBody(request, 64 * 1024, { timeoutMs: 50 });
    assert.ok(body instanceof WireError, String(body));
    assert.equal(
      body.toString(),
      "MALFORMED_BUFFER: the body did not arrive within 50 ms (10 bytes came)",
    );
    assert.ok(cancelled, "the stalled body is cancelled");
  }
  // Through the inflater too: its source is cancelled under it.
  let cancelled = false;
  const start = (await compress(new Uint8Array(1000), "gzip")).subarray(0, 10);
  const stalled = new ReadableStream<Uint8Array>({
    start: (controller) => controller.enqueue(start),
    cancel: () => void (cancelled = true),
  });
  const headers = { "content-encoding": "gzip" };
  const request = new Request("http://x/", { method: "POST", body: stalled, headers });
  const body = await readBody(request, 64 * 1024, { timeoutMs: 50 });
  assert.match(String(body), /^MALFORMED_BUFFER: the body did not arrive within 50 ms/);
  while (!cancelled) await new Promise((r) => setTimeout(r, 5));
});
