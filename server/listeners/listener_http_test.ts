// The HTTP port served by listener Workers (`--listeners 2`) against the real
// server, real sockets and the real model: the same answers, errors, limits,
// tokens and metrics as the port in process, the connections taken by the
// Workers. Needs `deno test --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { oipRequest } from "../../client/oip.ts";
import { Logger } from "../log.ts";
import { type ServerOptions } from "../options.ts";
import { startServer } from "../server.ts";
import type { InferenceServer } from "../inference_server.ts";
import { Authorizer } from "../auth/authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "../auth/tokens.ts";
import { ListenerWorkers } from "./listener_workers.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_options.ts";
import { serveHttpOnListeners } from "./listener_http.ts";
import { listenerOptions } from "../board_settings.ts";
import { withServerDefaults } from "../options.ts";
import type { HttpDeps } from "../http/http.ts";
import { selfSignedCertificate } from "../tls/_test_cert.ts";
import { standInWorker } from "../testing/engine_stand_in.ts";
import { ignorableTests, requireTool } from "../testing/tools.ts";

/** Tests with a certificate made by openssl at test time. */
const openssl = ignorableTests(requireTool("openssl", "openssl"));

function needUnstableNet(): void {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
}

async function withHttp(
  options: ServerOptions,
  fn: (server: InferenceServer, base: string) => Promise<void>,
): Promise<void> {
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    httpPort: 0,
    warmUpMs: 0,
    log: new Logger("error", () => {}),
    ...options,
  });
  try {
    await fn(server, `http://127.0.0.1:${server.http!.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

const digit = Uint8Array.from({ length: 784 }, (_, i) => (i * 7) % 251 > 120 ? 255 : 0);
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const plain = json({
  id: "seven",
  inputs: [{ name: "input", datatype: "UINT8", shape: [1, 784], data: [...digit] }],
});

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

/** `mnist_requests_total` lines for HTTP, from /metrics. */
async function httpCounts(base: string): Promise<string[]> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith('mnist_requests_total{protocol="http"'));
}

Deno.test("--listeners 2: the Workers take the HTTP port's connections, and every answer is as in process", async () => {
  needUnstableNet();
  let inProcess: string[] = [];
  let inProcessCounts: string[] = [];
  await withHttp({ listeners: 1 }, async (server, base) => {
    inProcess = await answers(base);
    inProcessCounts = await httpCounts(base);
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
    assert.deepEqual(await httpCounts(base), inProcessCounts);
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
    const counts = await httpCounts(base);
    assert.ok(counts.includes('mnist_requests_total{protocol="http",status="FRAME_TOO_LARGE"} 1'));
  });
});

Deno.test("with tokens on, HTTP infer needs the bearer token before its model is looked up, in process and through Workers", async () => {
  needUnstableNet();
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, `${tokenLine("kitchen", token)}\n`);
  const tokens = await DeviceTokens.open(`${dir}/tokens`);
  const wrongShape = json({
    inputs: [{ name: "input", datatype: "UINT8", shape: [1, 3], data: [1, 2, 3] }],
  });
  try {
    for (const listeners of [1, 2]) {
      await withHttp({ listeners, auth: new Authorizer({ tokens }) }, async (server, base) => {
        const infer = (path: string, body: Uint8Array, headers: Record<string, string> = {}) =>
          fetch(`${base}${path}`, {
            method: "POST",
            body: body as Uint8Array<ArrayBuffer>,
            headers,
          });
        const none = await infer("/v2/models/mnist/infer", plain);
        assert.equal(none.status, 401, `listeners ${listeners}`);
        assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="mnist"');
        assert.match((await none.json()).error, /^UNAUTHORIZED: /);
        // Without a token, neither the models served nor the model's inputs are told.
        for (
          const [path, body] of [["/v2/models/secret/infer", plain], [
            "/v2/models/mnist/infer",
            wrongShape,
          ]] as const
        ) {
          const refused = await infer(path, body);
          assert.equal(refused.status, 401, `${path}, listeners ${listeners}`);
          assert.equal(
            (await refused.json()).error,
            "UNAUTHORIZED: this server needs an Authorization: Bearer token",
          );
        }
        const bearer = { authorization: `Bearer ${token}` };
        const unknown = await infer("/v2/models/secret/infer", plain, bearer);
        assert.equal(unknown.status, 404);
        assert.match((await unknown.json()).error, /^MODEL_UNAVAILABLE: .*served: mnist/);
        const ok = await infer("/v2/models/mnist/infer", plain, bearer);
        assert.equal(ok.status, 200);
        await ok.body?.cancel();
        const rows = server.monitor.snapshot().devices;
        assert.ok(rows.some((row) => row.id === "kitchen"), "the token's device is seen");
        const counts = await httpCounts(base);
        assert.ok(
          counts.includes('mnist_requests_total{protocol="http",status="UNAUTHORIZED"} 3'),
          counts.join("\n"),
        );
      });
    }
  } finally {
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
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

/** An engine that takes 200 ms a run of digits that are not blank: requests are in flight a while. */
const SLOW = standInWorker({
  prelude: "const nap = new Int32Array(new SharedArrayBuffer(4));",
  run: "if (i === 0 && data.some((v) => v > 0)) Atomics.wait(nap, 0, 0, 200);",
});

Deno.test("--listeners 2: a shutdown answers every HTTP request the Workers took", async () => {
  needUnstableNet();
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    httpPort: 0,
    warmUpMs: 0,
    listeners: 2,
    workerUrl: SLOW,
    instances: 1,
    maxBatch: 1,
    log: new Logger("error", () => {}),
  });
  const base = `http://127.0.0.1:${server.http!.addr.port}`;
  const answers = Array.from(
    { length: 6 },
    () =>
      fetch(`${base}/v2/models/mnist/infer`, { method: "POST", body: plain })
        .then(async (r) => `${r.status} ${(await r.json()).id}`),
  );
  // Every request is on the main thread (in the queue or its run) before the shutdown.
  while (server.queue.inFlight < 6) {
    await new Promise((r) => setTimeout(r, 10));
  }
  await server.shutdown();
  assert.deepEqual(await Promise.all(answers), Array(6).fill("200 seven"));
});

Deno.test("--listeners 2: binding the HTTP port passes over a failed Worker: it neither waits for it nor fails", async () => {
  needUnstableNet();
  const failures: string[] = [];
  const log = new Logger("error", (line) => failures.push(line));
  const workers = await ListenerWorkers.start(2, listenerOptions(withServerDefaults({ log })));
  // Not restarted while the test binds: the failed Worker stays in its place.
  workers.restarts.delaysMs = [60_000];
  try {
    // A message the Worker cannot read: its uncaught error ends it.
    workers.links[1].send({ type: "replies", buffer: null!, length: 12 });
    while (failures.length === 0) await new Promise((r) => setTimeout(r, 10));
    const deps = { log, maxBodyBytes: 1024, handler: { tokensOn: false } } as unknown as HttpDeps;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = await Promise.race([
      serveHttpOnListeners(workers, deps, { hostname: "127.0.0.1", port: 0 }).then(
        (http) => http.shutdown().then(() => "bound"),
        (e: Error) => e.message,
      ),
      new Promise<string>((r) => timer = setTimeout(() => r("no answer in 10 s"), 10_000)),
    ]);
    clearTimeout(timer);
    // The Worker started in its place binds the port then (`onRestart`;
    // listener_start_failure_test.ts sees one serve it).
    assert.equal(bound, "bound");
  } finally {
    await workers.shutdown();
  }
});

Deno.test("with tokens on, an infer without a known token is refused before its body is read, in process and through Workers", async () => {
  needUnstableNet();
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, `${tokenLine("kitchen", token)}\n`);
  const tokens = await DeviceTokens.open(`${dir}/tokens`);
  try {
    for (const listeners of [1, 2]) {
      await withHttp({ listeners, auth: new Authorizer({ tokens }) }, async (server, base) => {
        // Bodies promised and never sent: refused at once, the memory budget holds none of them.
        const stalled: Deno.TcpConn[] = [];
        for (const authorization of ["", `authorization: Bearer ${"x".repeat(32)}\r\n`]) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.http!.addr.port });
          stalled.push(conn);
          const head = `POST /v2/models/mnist/infer HTTP/1.1\r\nhost: x\r\n${authorization}` +
            `content-length: 1000000\r\n\r\n{"inputs":[`;
          await conn.write(new TextEncoder().encode(head));
          const answer = new Uint8Array(4096);
          const n = await conn.read(answer);
          const text = new TextDecoder().decode(answer.subarray(0, n ?? 0));
          assert.match(text, /^HTTP\/1\.1 401 /, `listeners ${listeners}: ${text}`);
          assert.match(text, /UNAUTHORIZED: /);
        }
        assert.equal(server.limits.buffered, 0, "no body is held");
        const ok = await fetch(`${base}/v2/models/mnist/infer`, {
          method: "POST",
          body: plain,
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(ok.status, 200);
        await ok.body?.cancel();
        for (const conn of stalled) conn.close();
      });
    }
  } finally {
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
});
