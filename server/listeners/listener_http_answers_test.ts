// The HTTP port served by listener Workers (`--listeners 2`) against the real
// server, real sockets and the real model: the same answers and errors as the
// port in process, for every kind of request and for many at once, a body
// over the limit cut off while read, HTTPS alike, the connections taken by
// the Workers. Needs `deno test --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { oipRequest } from "../../client/oip.ts";
import { selfSignedCertificate } from "../testing/tls_cert.ts";
import { ignorableTests, requireTool } from "../testing/tools.ts";
import { digit, json, needUnstableNet, plain, withHttp } from "../testing/listener_http.ts";
import { httpCounts } from "../testing/http_modes.ts";

/** Tests with a certificate made by openssl at test time. */
const openssl = ignorableTests(requireTool("openssl", "openssl"));

const deep = new TextEncoder().encode(`{"id":${"[".repeat(5000)}${"]".repeat(5000)}}`);

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Requests that cover every kind of answer: inferences (JSON, binary, gzip), refusals, routes. */
async function requests(): Promise<[string, string, RequestInit][]> {
  const binary = oipRequest([digit, digit], { binary: true });
  const post = (body: Uint8Array, headers: Record<string, string> = {}): RequestInit => ({
    method: "POST",
    body: body as Uint8Array<ArrayBuffer>,
    headers,
  });
  return [
    ["ready", "/v2/health/ready", {}],
    ["infer JSON", "/v2/models/mnist/infer", post(plain)],
    ["infer binary", "/v2/models/mnist/versions/1/infer", post(binary.body, binary.headers)],
    [
      "infer gzip",
      "/v2/models/mnist/infer",
      post(await gzip(plain), { "content-encoding": "gzip" }),
    ],
    ["bad JSON", "/v2/models/mnist/infer", post(json("x").subarray(1))],
    ["unknown version", "/v2/models/mnist/versions/9/infer", post(plain)],
    // A body that is not JSON is refused before its model is looked up (as a board's frame that
    // cannot be decoded is), in the Workers as in process; a readable one's model after its token.
    ["unknown model, bad body", "/v2/models/nope/infer", post(json("x").subarray(1))],
    ["unknown model", "/v2/models/nope/infer", post(plain)],
    ["wrong method", "/v2/models/mnist/infer", {}],
    ["metadata", "/v2/models/mnist", {}],
    ["metadata, HEAD", "/v2/models/mnist", { method: "HEAD" }],
    ["config", "/v2/models/mnist/config", {}],
    ["no route", "/nope", {}],
    ["repository index", "/v2/repository/index", post(json({}))],
    // Nested 5,000 deep: a Worker that posted it parsed would overflow its stack in the copy.
    ["deep JSON", "/v2/models/nope/infer", post(deep)],
  ];
}

/** Every request's status, content type and body, in order. */
async function answers(base: string): Promise<string[]> {
  const seen: string[] = [];
  for (const [what, path, init] of await requests()) {
    const response = await fetch(base + path, init);
    const body = await response.text();
    // Every header but the date: the Workers' answers carry the same headers as the main thread's.
    const headers = [...response.headers].filter(([name]) => name !== "date").join(" ");
    seen.push(
      `${what}: ${response.status} ${response.headers.get("content-type")} ${body} ${headers}`,
    );
  }
  return seen;
}

Deno.test("--listeners 2: the Workers take the HTTP port's connections, and every answer is as in process", async () => {
  needUnstableNet();
  let inProcess: string[] = [];
  let inProcessCounts: string[] = [];
  await withHttp({ listeners: 1 }, async (server, base) => {
    inProcess = await answers(base);
    inProcessCounts = await httpCounts(Number(new URL(base).port));
    assert.equal(server.http!.requestsPerListener, undefined);
  });
  assert.match(inProcess[1], /^infer JSON: 200 application\/json \{"model_name":"mnist"/);
  assert.match(inProcess[2], /^infer binary: 200 /);
  assert.match(inProcess[4], /^bad JSON: 400 .*MALFORMED_BUFFER: the request is not JSON/);
  assert.match(inProcess[6], /^unknown model, bad body: 400 .*MALFORMED_BUFFER/);
  assert.match(inProcess[7], /^unknown model: 404 .*MODEL_UNAVAILABLE/);
  assert.match(inProcess.at(-1)!, /^deep JSON: 400 .*nests deeper than 16 levels/);
  assert.equal(inProcessCounts.length, 3); // OK, MALFORMED_BUFFER, MODEL_UNAVAILABLE
  await withHttp({ listeners: 2 }, async (server, base) => {
    assert.deepEqual(await answers(base), inProcess);
    assert.deepEqual(await httpCounts(Number(new URL(base).port)), inProcessCounts);
    // Every request so far (the two scrapes' first included) came through a Worker.
    const perListener = server.http!.requestsPerListener!;
    assert.equal(perListener.length, 2);
    assert.equal(perListener[0] + perListener[1], inProcess.length + 1);
  });
});

/** `count` different digits, each as a JSON infer body with its index as the id. */
function manyDigits(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, k) =>
    json({
      id: String(k),
      inputs: [{
        name: "input",
        datatype: "UINT8",
        shape: [1, 784],
        data: Array.from({ length: 784 }, (_, i) => ((i * 7 + k * 131) % 251) > 120 ? 255 : 0),
      }],
    }));
}

/** Each of `bodies` posted at once on its own connection: the answers' ids and scores, by body. */
async function allAtOnce(base: string, bodies: Uint8Array[]): Promise<string[]> {
  return await Promise.all(bodies.map(async (body) => {
    const response = await fetch(`${base}/v2/models/mnist/infer`, {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer>,
      headers: { connection: "close" },
    });
    const reply = await response.json();
    return `${response.status} ${reply.id} ${reply.outputs[0].data.join(",")}`;
  }));
}

Deno.test("--listeners 2: many requests at once, from both Workers, each get their own answer", async () => {
  needUnstableNet();
  const bodies = manyDigits(60);
  let inProcess: string[] = [];
  await withHttp({ listeners: 1 }, async (_server, base) => {
    inProcess = await allAtOnce(base, bodies);
  });
  assert.deepEqual(
    inProcess.map((a) => a.split(" ").slice(0, 2).join(" ")),
    bodies.map((_, k) => `200 ${k}`),
  );
  await withHttp({ listeners: 2 }, async (server, base) => {
    assert.deepEqual(await allAtOnce(base, bodies), inProcess);
    const perListener = server.http!.requestsPerListener!;
    assert.ok(perListener.every((n) => n > 0), `requests per listener: ${perListener}`);
  });
});

Deno.test("--listeners 2: a body over --max-http-body is cut off while read, refused and counted", async () => {
  needUnstableNet();
  await withHttp({ listeners: 2, maxHttpBody: 64 * 1024 }, async (_server, base) => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 16 * 1024;
        if (pulled > 256 * 1024 * 1024) controller.close();
        else controller.enqueue(new Uint8Array(16 * 1024).fill(0x20));
      },
    });
    const response = await fetch(`${base}/v2/models/mnist/infer`, {
      method: "POST",
      body: endless,
      headers: { "content-type": "application/json" },
    }).catch((e) => e as Error);
    // Refused before the body ends: an answer, or the connection closed under the upload.
    if (response instanceof Response) {
      assert.equal(response.status, 413);
      assert.match((await response.json()).error, /^FRAME_TOO_LARGE: the body is over 65536 bytes/);
    }
    assert.ok(pulled < 64 * 1024 * 1024, `the client sent ${pulled} bytes`);
    const counts = await httpCounts(Number(new URL(base).port));
    assert.ok(counts.includes('mnist_requests_total{protocol="http",status="FRAME_TOO_LARGE"} 1'));
  });
});

openssl.test("HTTPS: the port's certificate is served in process and by the Workers alike", async () => {
  needUnstableNet();
  const { cert, key, dir } = await selfSignedCertificate();
  const client = Deno.createHttpClient({ caCerts: [cert] });
  try {
    const seen: string[] = [];
    for (const listeners of [1, 2]) {
      await withHttp({ listeners, httpTls: { cert, key } }, async (server) => {
        const base = `https://127.0.0.1:${server.http!.addr.port}`;
        const response = await fetch(`${base}/v2/models/mnist/infer`, {
          method: "POST",
          body: plain,
          client,
        });
        seen.push(`${listeners}: ${response.status} ${(await response.json()).id}`);
      });
    }
    assert.deepEqual(seen, ["1: 200 seven", "2: 200 seven"]);
  } finally {
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
});
