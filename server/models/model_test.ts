import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { Status } from "../../shared/errors.ts";
import { EngineError, InferenceEngine } from "../engine/engine.ts";
import { Logger } from "../log.ts";
import { DEFAULT_MODEL, loadModelFile, ModelError, modelNameOf } from "./model.ts";
import { startServer } from "../server.ts";

const testdata = (name: string) => new URL(`../testdata/${name}`, import.meta.url).pathname;

Deno.test("the bundled model matches its metadata and has the original 93,322 parameters", async () => {
  const model = await loadModelFile(DEFAULT_MODEL, { verifyChecksum: true });
  assert.equal(model.parameters, 93322);
  assert.equal(model.metadata?.sha256, model.sha256);
});

Deno.test("a model whose sha256 differs from its metadata is refused unless allowed", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-model-" });
  try {
    await Deno.copyFile(DEFAULT_MODEL, `${dir}/model.onnx`);
    const metadata = JSON.parse(
      await Deno.readTextFile(new URL("../../models/mnist/1/model.json", import.meta.url)),
    );
    metadata.sha256 = "0".repeat(64);
    await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(metadata));
    await assert.rejects(
      loadModelFile(`${dir}/model.onnx`, { verifyChecksum: true }),
      (e: Error) =>
        e instanceof ModelError &&
        /sha256 [0-9a-f]{64}, but .*model\.json says 0{64}/.test(e.message),
    );
    const allowed = await loadModelFile(`${dir}/model.onnx`, { verifyChecksum: false });
    assert.equal(allowed.parameters, 93322);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a checksum is required only when asked: no metadata, or metadata without sha256", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-model-" });
  try {
    await Deno.copyFile(testdata("dense_784x10.onnx"), `${dir}/model.onnx`);
    const strict = { verifyChecksum: true, requireChecksum: true };
    await assert.rejects(loadModelFile(`${dir}/model.onnx`, strict), /has no metadata file/);
    const lone = await loadModelFile(`${dir}/model.onnx`, { verifyChecksum: true });
    assert.equal(lone.metadata, null);
    await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify({ name: "dense" }));
    await assert.rejects(loadModelFile(`${dir}/model.onnx`, strict), /has no sha256/);
    await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify({ sha256: lone.sha256 }));
    assert.equal((await loadModelFile(`${dir}/model.onnx`, strict)).sha256, lone.sha256);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a model's name comes from its repository folder, else from its file", () => {
  assert.equal(modelNameOf("/srv/models/mnist/12/model.onnx"), "mnist");
  assert.equal(modelNameOf("/srv/models/mnist/latest/model.onnx"), "model");
  assert.equal(modelNameOf("server/testdata/dense_784x10.onnx"), "dense_784x10");
});

Deno.test("a missing or non-ONNX model file is refused with a clear message", async () => {
  await assert.rejects(
    loadModelFile("/nonexistent/model.onnx", { verifyChecksum: true }),
    /cannot read model/,
  );
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-model-" });
  try {
    await Deno.writeFile(`${dir}/junk.onnx`, new Uint8Array([0x0f, 0xff, 0xff]));
    await assert.rejects(
      loadModelFile(`${dir}/junk.onnx`, { verifyChecksum: true }),
      /not an ONNX file/,
    );
    await Deno.writeFile(`${dir}/empty.onnx`, new Uint8Array());
    await assert.rejects(
      loadModelFile(`${dir}/empty.onnx`, { verifyChecksum: true }),
      /empty\.onnx is empty/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a model whose output is not 10 values is refused at start, naming the shapes", async () => {
  const model = await loadModelFile(testdata("dense_784x5.onnx"), { verifyChecksum: true });
  await assert.rejects(
    InferenceEngine.start(model.bytes),
    (e: Error) =>
      e instanceof EngineError && e.message.includes("[batch,784]") &&
      e.message.includes("[batch,5]"),
  );
});

Deno.test("any model with 784 inputs and 10 outputs per sample is served", async () => {
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    model: testdata("dense_784x10.onnx"),
    log: new Logger("error", () => {}),
  });
  try {
    assert.deepEqual(server.engine.shape.inputDims, [-1, 784]);
    const client = await InferenceClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const reply = await client.infer({ digitU8: new Uint8Array(784).fill(128) });
    client.close();
    assert.equal(reply.status, Status.OK);
    assert.equal(reply.scores?.length, 10);
  } finally {
    await server.shutdown();
  }
});
