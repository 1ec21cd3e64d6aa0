// One request path for every transport, shown against a real server on
// loopback with the real engines: the board port and HTTP call the same
// handler function; an HTTP batch is one job (admitted whole, answered by
// one version); --max-queued bounds HTTP too; a model unloaded and loaded
// while a body is on its way is looked up when the body has arrived; Triton's
// series carry the model and version that did the work; HTTP digits reach
// the capture.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { oipInfer, oipRequest } from "../../client/oip.ts";
import { Logger } from "../log.ts";
import { type ServerOptions } from "../options.ts";
import { startServer } from "../server.ts";
import { type InferenceServer } from "../inference_server.ts";
import { sha256Hex } from "../models/model.ts";
import { DigitCapture } from "../capture/capture.ts";
import { readCaptures } from "../capture/capture_read.ts";
import { RequestHandler } from "./handler.ts";

const quiet = new Logger("error", () => {});
const cnn = await Deno.readFile(new URL("../../models/mnist/1/model.onnx", import.meta.url));

/**
 * The CNN with its last layer's bias for class 0 raised by 100: the same
 * tensors, answers clearly different from the CNN's, so a digit answered
 * by the other version shows.
 */
function shiftedCnn(): Uint8Array {
  const copy = cnn.slice();
  const text = new TextDecoder("latin1").decode(copy);
  // TensorProto.raw_data (field 9, 40 bytes: ten floats) after the tensor's name.
  const at = text.indexOf("\x4a\x28", text.lastIndexOf("11.bias")) + 2;
  const view = new DataView(copy.buffer);
  view.setFloat32(at, view.getFloat32(at, true) + 100, true);
  return copy;
}
const cnn2 = shiftedCnn();

/** Writes version `version` of `model` under `root` (moved into place whole). */
async function putVersion(root: string, model: string, version: number, bytes: Uint8Array) {
  const hidden = `${root}/${model}/.${version}`;
  await Deno.mkdir(hidden, { recursive: true });
  await Deno.writeFile(`${hidden}/model.onnx`, bytes);
  await Deno.writeTextFile(
    `${hidden}/model.json`,
    JSON.stringify({ sha256: await sha256Hex(bytes) }),
  );
  await Deno.rename(hidden, `${root}/${model}/${version}`);
}

async function withRepository(
  options: ServerOptions,
  fn: (server: InferenceServer, base: string, root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-one-path-" });
  await putVersion(root, "mnist", 1, cnn);
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: quiet,
    modelRepository: root,
    ...options,
  });
  try {
    await fn(server, `http://127.0.0.1:${server.http!.addr.port}`, root);
  } finally {
    await server.shutdown();
    await Deno.remove(root, { recursive: true });
  }
}

/** `count` different digits, as bytes. */
function digits(count: number): Uint8Array[] {
  return Array.from(
    { length: count },
    (_, k) => Uint8Array.from({ length: 784 }, (_, i) => ((i * 7 + k * 131) % 251) > 120 ? 255 : 0),
  );
}

async function scrape(base: string): Promise<string> {
  return await (await fetch(`${base}/metrics`)).text();
}

function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

Deno.test("a framed request and an HTTP infer pass through the same function, RequestHandler.handleDecodedWith", async () => {
  const original = RequestHandler.prototype.handleDecodedWith;
  const seen: string[] = [];
  RequestHandler.prototype.handleDecodedWith = function (...args) {
    seen.push(args[1].protocol);
    return original.apply(this, args);
  };
  try {
    await withRepository({}, async (server, base) => {
      const client = await InferenceClient.connect(server.addr);
      assert.equal((await client.infer({ digitU8: new Uint8Array(784) })).status, 0);
      client.close();
      assert.equal((await oipInfer(base, [new Uint8Array(784)])).status, 200);
    });
  } finally {
    RequestHandler.prototype.handleDecodedWith = original;
  }
  assert.deepEqual(seen, ["framed", "http"]);
});

Deno.test("--max-queued bounds HTTP: the queue never holds more, and a refused batch runs no digit", async () => {
  let deepest = 0;
  let ran = 0;
  let server: InferenceServer | null = null;
  await withRepository({
    maxQueued: 16,
    instances: 1,
    onRequest: () => {
      deepest = Math.max(deepest, server!.queued);
    },
    onRun: (event) => {
      ran += event.batchSize;
    },
  }, async (started, base) => {
    server = started;
    const ones = await Promise.all(
      Array.from({ length: 400 }, () => oipInfer(base, [new Uint8Array(784)])),
    );
    const busy = ones.filter((r) => r.status === 503).length;
    assert.ok(busy > 0, "a burst over the budget gets 503");
    assert.equal(busy + ones.filter((r) => r.status === 200).length, 400);
    assert.ok(deepest <= 16, `the queue held ${deepest} digits; the budget is 16`);
    ran = 0;
    const eights = await Promise.all(
      Array.from({ length: 100 }, () => oipInfer(base, digits(8))),
    );
    const answered = eights.filter((r) => r.status === 200).length;
    assert.ok(answered < 100, "some eight-digit batches are refused");
    assert.equal(ran, answered * 8, "a refused batch costs the engine nothing");
  });
});

Deno.test("an HTTP batch that spans swaps is answered whole by the version its reply names", async () => {
  await withRepository({ instances: 1, batchMs: 1 }, async (server, base, root) => {
    const batch = digits(64);
    const reference = new Map<number, Float32Array>();
    reference.set(1, (await oipInfer(base, batch)).probabilities!);
    await putVersion(root, "mnist", 2, cnn2);
    await server.serving.rescan();
    reference.set(2, (await oipInfer(base, batch)).probabilities!);
    const apart = reference.get(1)!.filter((v, i) => Math.abs(v - reference.get(2)![i]) > 0.01);
    assert.ok(apart.length >= 64, "the two versions answer differently");
    const replies: { version: number; scores: Float32Array }[] = [];
    let swapping = true;
    // Eight clients keep batches in flight through every swap.
    const clients = Array.from({ length: 8 }, async () => {
      while (swapping) {
        const r = await oipInfer(base, batch);
        replies.push({ version: Number(r.body.model_version), scores: r.probabilities! });
      }
    });
    for (let round = 0; round < 6; round++) {
      if (round % 2 === 0) await Deno.remove(`${root}/mnist/2`, { recursive: true });
      else await putVersion(root, "mnist", 2, cnn2);
      await server.serving.rescan();
    }
    swapping = false;
    await Promise.all(clients);
    assert.ok(replies.length > 8);
    for (const reply of replies) {
      const expected = reference.get(reply.version)!;
      for (let i = 0; i < expected.length; i++) {
        assert.ok(
          Math.abs(reply.scores[i] - expected[i]) < 1e-3,
          `score ${i} differs from version ${reply.version}'s answer`,
        );
      }
    }
  });
});

Deno.test("an HTTP infer whose body arrives across an unload and a load gets the model there then", async () => {
  await withRepository({}, async (server, base, root) => {
    await putVersion(root, "other", 1, cnn2);
    await server.serving.rescan();
    const send = async (between: () => Promise<void>) => {
      const { body, headers } = oipRequest([new Uint8Array(784)], { model: "other" });
      let release!: () => void;
      const held = new Promise<void>((resolve) => release = resolve);
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(body.subarray(0, 10));
          await held;
          controller.enqueue(body.subarray(10));
          controller.close();
        },
      });
      const response = fetch(`${base}/v2/models/other/infer`, {
        method: "POST",
        body: stream,
        headers,
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await between();
      release();
      const answer = await response;
      return { status: answer.status, text: await answer.text() };
    };
    const reloaded = await send(async () => {
      await Deno.rename(`${root}/other`, `${root}/.other`);
      await server.serving.rescan();
      await Deno.rename(`${root}/.other`, `${root}/other`);
      await server.serving.rescan();
    });
    assert.equal(reloaded.status, 200, reloaded.text);
    const unloaded = await send(async () => {
      await Deno.remove(`${root}/other`, { recursive: true });
      await server.serving.rescan();
    });
    assert.equal(unloaded.status, 404);
    assert.match(unloaded.text, /MODEL_UNAVAILABLE/);
  });
});

Deno.test("Triton's series carry the model and version that did the work", async () => {
  await withRepository({}, async (server, base, root) => {
    await putVersion(root, "other", 1, cnn2);
    await server.serving.rescan();
    const before = await scrape(base);
    assert.equal((await oipInfer(base, digits(3), { model: "other" })).status, 200);
    const after = await scrape(base);
    const other = '{model="other",version="1"}';
    const mnist = '{model="mnist",version="1"}';
    assert.equal(sample(after, `nv_inference_count${other}`), 3);
    assert.equal(
      sample(after, `nv_inference_count${mnist}`),
      sample(before, `nv_inference_count${mnist}`),
    );
    await putVersion(root, "mnist", 2, cnn2);
    await server.serving.rescan();
    assert.equal((await oipInfer(base, digits(2))).status, 200);
    const swapped = await scrape(base);
    assert.equal(sample(swapped, 'nv_inference_count{model="mnist",version="2"}'), 2);
    const stats = await (await fetch(`${base}/v2/models/other/stats`)).json();
    assert.equal(stats.model_stats[0].name, "other");
    assert.equal(stats.model_stats[0].inference_count, 3);
  });
});

Deno.test("HTTP digits reach --capture with the version that answered them", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-one-path-capture-" });
  const capture = await DigitCapture.open({ dir, rule: "sample:1", flushMs: 60_000 });
  try {
    await withRepository({ capture }, async (_server, base) => {
      assert.equal((await oipInfer(base, digits(5))).status, 200);
    });
    await capture.close();
    const records = [];
    for await (const record of readCaptures(dir)) records.push(record);
    assert.equal(records.length, 5);
    assert.ok(records.every((r) => r.model === "mnist" && r.version === 1));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a refusal counts against the model and version it named when they are served, never the default in their place", async () => {
  await withRepository({ maxHttpBody: 64 * 1024 }, async (_server, base) => {
    const failures = async () =>
      sample(
        await scrape(base),
        'nv_inference_request_failure{model="mnist",version="1",reason="OTHER"}',
      );
    const before = await failures();
    const post = (path: string, body: BodyInit) =>
      fetch(`${base}${path}`, { method: "POST", body }).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      });
    assert.equal(await post("/v2/models/zz/infer", "{}"), 404);
    assert.equal(await post("/v2/models/mnist/versions/7/infer", "{}"), 404);
    assert.equal(await post("/v2/models/zz/infer", new Uint8Array(100 * 1024)), 413);
    assert.equal(await post("/v2/models/mnist/versions/7/infer", "{"), 400);
    assert.equal(await failures(), before, "none counted against mnist 1");
    assert.equal(await post("/v2/models/mnist/infer", "{"), 400);
    assert.equal(await failures(), before + 1, "mnist's own refusal is counted");
  });
});
