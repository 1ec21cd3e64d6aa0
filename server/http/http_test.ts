// The HTTP port end to end: a real server on loopback ports, the real model,
// fetch as the client; the binary extension checked with our own client
// (client/oip.ts) written from the extension's specification.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { decodeOipReply, oipInfer, oipRequest } from "../../client/oip.ts";
import { loadHeldOut } from "../../models/mnist_data.ts";
import { Logger } from "../log.ts";
import { Authorizer } from "../auth/authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "../auth/tokens.ts";
import { type ServerOptions } from "../options.ts";
import { startServer } from "../server.ts";
import { type InferenceServer } from "../inference_server.ts";

const quiet = new Logger("error", () => {});

async function withServer(
  options: ServerOptions,
  fn: (server: InferenceServer, base: string) => Promise<void>,
): Promise<void> {
  const server = await startServer({ hostname: "127.0.0.1", port: 0, log: quiet, ...options });
  try {
    await fn(server, `http://127.0.0.1:${server.http?.addr.port}`);
  } finally {
    await server.shutdown();
    await server.finished;
  }
}

async function get(url: string, init?: RequestInit) {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

function toBytes(pixels: Float32Array): Uint8Array {
  return Uint8Array.from(pixels, (v) => Math.round(v * 255));
}

Deno.test("OIP routes: server, health, model metadata, ready, config, versioned forms", async () => {
  await withServer({}, async (server, base) => {
    assert.match(server.describe(), /^listening on 127\.0\.0\.1:\d+ http=127\.0\.0\.1:\d+ model=/);
    const v2 = JSON.parse((await get(`${base}/v2`)).text);
    assert.equal(v2.name, "mnist-server");
    assert.ok(v2.extensions.includes("binary_tensor_data"));
    for (const path of ["/v2/health/live", "/v2/health/ready", "/v2/models/mnist/ready"]) {
      const r = await get(base + path);
      assert.equal(r.status, 200, path);
      assert.equal(r.text, "", `${path}: health answers carry no body`);
    }
    for (const prefix of ["/v2/models/mnist", "/v2/models/mnist/versions/1"]) {
      const meta = JSON.parse((await get(base + prefix)).text);
      assert.equal(meta.name, "mnist");
      assert.deepEqual(meta.versions, ["1"]);
      assert.equal(meta.platform, "onnxruntime_onnx");
      assert.deepEqual(meta.inputs, [{ name: "input", datatype: "FP32", shape: [-1, 1, 28, 28] }]);
      assert.deepEqual(meta.outputs[0], {
        name: "probabilities",
        datatype: "FP32",
        shape: [-1, 10],
      });
      const config = JSON.parse((await get(`${base}${prefix}/config`)).text);
      assert.equal(config.max_batch_size, 128);
      assert.deepEqual(config.input[0].dims, [1, 28, 28]);
      assert.equal(config.input[0].data_type, "TYPE_FP32");
      assert.deepEqual(config.output[0].dims, [10]);
      assert.ok(config.dynamic_batching);
      assert.equal((await get(`${base}${prefix}/ready`)).status, 200);
    }
    const head = await fetch(`${base}/v2/health/ready`, { method: "HEAD" });
    await head.body?.cancel();
    assert.equal(head.status, 200);
  });
});

Deno.test("OIP errors: 404 for unknown models, versions and routes, 405 with Allow", async () => {
  await withServer({}, async (_server, base) => {
    const cases: [string, string, number, RegExp][] = [
      ["GET", "/v2/models/cifar", 404, /^MODEL_UNAVAILABLE: no model "cifar"/],
      ["GET", "/v2/models/mnist/versions/7/config", 404, /^MODEL_UNAVAILABLE: .*version "7"/],
      ["POST", "/v2/models/cifar/infer", 404, /^MODEL_UNAVAILABLE/],
      ["GET", "/nowhere", 404, /^UNKNOWN_COMMAND: no route GET \/nowhere/],
      ["GET", "/v2/models/%E0%A4%A", 404, /^MODEL_UNAVAILABLE: no model "%E0%A4%A"/],
      ["GET", "/v2/models/mnist/infer", 405, /^UNKNOWN_COMMAND: .* takes POST, not GET/],
      ["POST", "/v2/health/ready", 405, /^UNKNOWN_COMMAND: .* takes GET, not POST/],
    ];
    for (const [method, path, status, error] of cases) {
      const r = await get(base + path, { method, body: method === "POST" ? "{}" : undefined });
      assert.equal(r.status, status, `${method} ${path}`);
      assert.match(JSON.parse(r.text).error, error, `${method} ${path}`);
      if (status === 405) assert.ok(r.headers.get("allow"), "405 says what is allowed");
    }
  });
});

Deno.test("an OIP infer of a held-out digit gives the framed TCP reply's scores, in every form", async () => {
  const digits = loadHeldOut().filter((_, i) => i % 100 === 7).slice(0, 4); // one per class 0..3
  await withServer({}, async (server, base) => {
    const client = await InferenceClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
    try {
      const framed = [];
      for (const d of digits) framed.push(await client.infer({ digitU8: toBytes(d.pixels) }));
      const bytes = digits.map((d) => toBytes(d.pixels));
      const forms = [
        { datatype: "UINT8" as const, dims: [784] },
        { datatype: "UINT8" as const, dims: [1, 28, 28], binary: true },
        { datatype: "UINT8" as const, dims: [28, 28], binary: true },
      ];
      for (const form of forms) {
        const reply = await oipInfer(base, bytes, { ...form, id: "req-1" });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.equal(reply.body.id, "req-1");
        assert.equal(reply.body.model_name, "mnist");
        assert.equal(reply.body.model_version, "1");
        assert.equal(reply.probabilities!.length, 40);
        for (let i = 0; i < digits.length; i++) {
          const own = reply.probabilities!.subarray(i * 10, i * 10 + 10);
          // The same bytes through the same engine: the same float32 scores.
          assert.deepEqual(Array.from(own), Array.from(framed[i].scores!), `digit ${i}`);
          assert.equal(reply.predicted![i], framed[i].predicted);
          assert.equal(reply.predicted![i], digits[i].label);
        }
      }
      // FP32 0..1 (the bytes / 255, as the queue does for bytes) gives the same scores too.
      const floats = bytes.map((b) => Float32Array.from(b, (v) => v / 255));
      const reply = await oipInfer(base, floats, { datatype: "FP32", binary: true });
      assert.deepEqual(
        Array.from(reply.probabilities!.subarray(0, 10)),
        Array.from(framed[0].scores!),
      );
      // Asked for nothing in particular, the answer is every output, as JSON.
      const plain = await fetch(`${base}/v2/models/mnist/infer`, {
        method: "POST",
        body: JSON.stringify({
          inputs: [{
            name: "input",
            datatype: "UINT8",
            shape: [1, 784],
            data: Array.from(bytes[0]),
          }],
        }),
      });
      const doc = await plain.json();
      assert.equal(plain.headers.get("content-type"), "application/json");
      assert.deepEqual(doc.outputs.map((o: { name: string }) => o.name), [
        "probabilities",
        "predicted",
      ]);
      assert.deepEqual(doc.outputs[0].shape, [1, 10]);
      assert.equal(doc.id, undefined);
    } finally {
      client.close();
    }
  });
});

Deno.test("binary extension: the reply's layout is the specification's", async () => {
  const digit = toBytes(loadHeldOut()[0].pixels);
  await withServer({}, async (_server, base) => {
    const { body, headers } = oipRequest([digit, digit], { binary: true });
    const response = await fetch(`${base}/v2/models/mnist/infer`, {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer>,
      headers,
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const jsonLength = Number(response.headers.get("inference-header-content-length"));
    assert.equal(response.headers.get("content-type"), "application/octet-stream");
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, jsonLength)));
    assert.deepEqual(
      header.outputs.map((
        o: Record<string, unknown>,
      ) => [o.name, o.datatype, o.shape, o.parameters]),
      [
        ["probabilities", "FP32", [2, 10], { binary_data_size: 80 }],
        ["predicted", "INT32", [2], { binary_data_size: 8 }],
      ],
    );
    assert.equal(
      bytes.length,
      jsonLength + 88,
      "the binary outputs follow the JSON, in order, unpadded",
    );
    const reply = decodeOipReply(200, bytes, String(jsonLength));
    assert.equal(reply.predicted![0], reply.predicted![1]);
    // binary_data_output asks for every output as binary.
    const all = JSON.stringify({
      parameters: { binary_data_output: true },
      inputs: [{ name: "input", datatype: "UINT8", shape: [1, 784], data: Array.from(digit) }],
    });
    const r2 = await fetch(`${base}/v2/models/mnist/infer`, { method: "POST", body: all });
    const b2 = new Uint8Array(await r2.arrayBuffer());
    const h2 = Number(r2.headers.get("inference-header-content-length"));
    assert.equal(b2.length, h2 + 44);
  });
});

Deno.test("bad infer requests get 400/413/503 with the wire's codes, and others are still served", async () => {
  await withServer({ maxQueued: 1 }, async (server, base) => {
    const post = (body: BodyInit, headers: Record<string, string> = {}) =>
      get(`${base}/v2/models/mnist/infer`, { method: "POST", body, headers });
    const input = (over: Record<string, unknown>) =>
      JSON.stringify({
        inputs: [{
          name: "input",
          datatype: "UINT8",
          shape: [1, 784],
          data: new Array(784).fill(0),
          ...over,
        }],
      });
    const cases: [BodyInit, Record<string, string>, number, RegExp][] = [
      ["{not json", {}, 400, /^MALFORMED_BUFFER: the request is not JSON/],
      ["[]", {}, 400, /^MALFORMED_BUFFER/],
      [input({ name: "x" }), {}, 400, /^MALFORMED_BUFFER: unknown input "x"/],
      [input({ datatype: "INT64" }), {}, 400, /^MALFORMED_BUFFER: input datatype "INT64"/],
      [input({ shape: [1, 10] }), {}, 400, /^BAD_DIGIT_LENGTH: input shape \[1,10\]/],
      [
        input({ shape: [2, 784] }),
        {},
        400,
        /^BAD_DIGIT_LENGTH: shape \[2,784\] needs 1568 values, got 784/,
      ],
      [
        input({ shape: [129, 784] }),
        {},
        400,
        /^BAD_DIGIT_LENGTH: a request carries 1 to 128 digits, not 129/,
      ],
      [input({ data: new Array(784).fill(256) }), {}, 400, /^MALFORMED_BUFFER: UINT8 value 256/],
      [
        input({ parameters: { binary_data_size: 784 } }),
        {},
        400,
        /needs the Inference-Header-Content-Length/,
      ],
      [
        "{}",
        { "inference-header-content-length": "99" },
        400,
        /^MALFORMED_BUFFER: Inference-Header-Content-Length 99/,
      ],
      [new Uint8Array(5 * 1024 * 1024), {}, 413, /^FRAME_TOO_LARGE: the body is/],
      // One digit runs at once, one may wait: the third finds the queue full.
      [input({ shape: [3, 784], data: new Array(3 * 784).fill(0) }), {}, 503, /^SERVER_BUSY/],
    ];
    for (const [body, headers, status, error] of cases) {
      const r = await post(body, headers);
      assert.equal(r.status, status, r.text);
      assert.match(JSON.parse(r.text).error, error);
    }
    await server.queue.drained(); // the refused request's first digits still run
    const ok = await oipInfer(base, [new Uint8Array(784)]);
    assert.equal(ok.status, 200);
    // Nested arrays are the same tensor as flat ones.
    const rows = Array.from({ length: 28 }, () => new Array(28).fill(0));
    const nested = await post(input({ shape: [1, 28, 28], data: [rows] }));
    assert.equal(nested.status, 200, nested.text);
    assert.deepEqual(JSON.parse(nested.text).outputs[0].data, Array.from(ok.probabilities!));
  });
});

Deno.test("readiness: 503 while the engine worker is replaced and while draining, 200 otherwise", async () => {
  // The scripted worker hangs on cue (a first pixel of 0.5), as onnxruntime cannot be made to.
  const workerUrl = new URL("../testdata/scripted_worker.ts", import.meta.url);
  await withServer({ workerUrl, runTimeoutMs: 300 }, async (server, base) => {
    const ready = async () => (await get(`${base}/v2/health/ready`)).status;
    assert.equal(await ready(), 200);
    const hang = new Float32Array(784);
    hang[0] = 0.5;
    const failing = oipInfer(base, [hang], { datatype: "FP32" });
    let answered = false;
    failing.finally(() => (answered = true));
    const seen: number[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      seen.push(await ready());
      if (answered && seen.includes(503) && seen.at(-1) === 200) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const failed = await failing;
    assert.ok(
      server.engine.restarts >= 1,
      `the worker was replaced (readiness: ${seen.slice(-20).join(",")})`,
    );
    assert.equal(failed.status, 500);
    assert.match(String(failed.body.error), /^INTERNAL_ERROR/);
    assert.ok(seen.includes(503), `readiness went 503 during the restart: ${seen.join(",")}`);
    assert.equal(seen.at(-1), 200, "and back to 200 after");
    assert.equal((await oipInfer(base, [new Uint8Array(784)])).status, 200);
    server.drain();
    assert.equal(await ready(), 503);
    assert.equal(await ready(), 503, "the model's own ready route too");
    assert.equal((await oipInfer(base, [new Uint8Array(784)])).status, 200, "still serving");
  });
});

Deno.test("--port 0 implies a free HTTP port; null turns HTTP off", async () => {
  await withServer({}, async (server, base) => {
    assert.notEqual(server.http!.addr.port, 8000);
    assert.ok(server.http!.addr.port > 0);
    assert.equal((await get(`${base}/v2/health/live`)).status, 200);
  });
  await withServer({ httpPort: null }, (server) => {
    assert.equal(server.http, null);
    assert.doesNotMatch(server.describe(), /http=/);
    return Promise.resolve();
  });
});

Deno.test("with tokens on, infer needs a bearer token and its 401 is the board's error; probes stay open", async () => {
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, `${tokenLine("kitchen", token)}\n`);
  const tokens = await DeviceTokens.open(`${dir}/tokens`);
  try {
    await withServer({ auth: new Authorizer({ tokens }) }, async (server, base) => {
      const refused = await oipInfer(base, [new Uint8Array(784)]);
      assert.equal(refused.status, 401);
      assert.match(String(refused.body.error), /^UNAUTHORIZED: /);
      const { body, headers } = oipRequest([new Uint8Array(784)]);
      const wrong = await fetch(`${base}/v2/models/mnist/infer`, {
        method: "POST",
        body: body as Uint8Array<ArrayBuffer>,
        headers: { ...headers, authorization: "Bearer nope" },
      });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers.get("www-authenticate"), 'Bearer realm="mnist"');
      assert.deepEqual(await wrong.json(), {
        error: "UNAUTHORIZED: the token is not one this server knows",
      });
      const ok = await fetch(`${base}/v2/models/mnist/infer`, {
        method: "POST",
        body: body as Uint8Array<ArrayBuffer>,
        headers: { ...headers, authorization: `Bearer ${token}` },
      });
      await ok.body?.cancel();
      assert.equal(ok.status, 200);
      const rows = server.monitor.snapshot().devices;
      assert.ok(rows.some((row) => row.id === "kitchen"), "the token's device is seen");
      assert.equal((await get(`${base}/v2/health/ready`)).status, 200, "probes stay open");
      const metrics = await get(`${base}/metrics`);
      assert.match(metrics.text, /mnist_requests_total\{protocol="http",status="UNAUTHORIZED"\} 2/);
    });
  } finally {
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
});
