// The same engine tests on every engine kind (ENGINE_KINDS): the real
// onnxruntime-web (WASM) and the real onnxruntime-node (native) behind the
// one engine interface, the served model's reference outputs, batch
// splitting, a model of the wrong shape, two instances side by side, and a
// server on loopback answering a legacy and a framed request.
//
// The native engine needs `deno task install:native` once; without it its
// tests are skipped with a note, unless MNIST_REQUIRE_NATIVE=1 (CI) makes the
// missing install a failure.
import assert from "node:assert/strict";
import { InferenceClient, legacyInfer } from "../../client/client.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { Logger } from "../log.ts";
import { startServer } from "../server.ts";
import { EngineError, InferenceEngine } from "./engine.ts";
import { ENGINE_KINDS, type EngineKind } from "../config_spec.ts";

const MODEL = await Deno.readFile(new URL("../../models/mnist/1/model.onnx", import.meta.url));
const WRONG = await Deno.readFile(new URL("../testdata/dense_784x5.onnx", import.meta.url));
const reference = JSON.parse(
  await Deno.readTextFile(new URL("../../models/mnist/1/reference.json", import.meta.url)),
) as { tolerance: number; cases: { pixels: string; probabilities: number[] }[] };

function decodeF32(b64: string): Float32Array {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

function nativeInstalled(): boolean {
  try {
    Deno.statSync(new URL("./native/node_modules/onnxruntime-node", import.meta.url));
    return true;
  } catch {
    return false;
  }
}

const NATIVE = nativeInstalled();
if (!NATIVE && Deno.env.get("MNIST_REQUIRE_NATIVE") === "1") {
  throw new Error(
    "MNIST_REQUIRE_NATIVE=1 but onnxruntime-node is not installed: run 'deno task install:native'",
  );
}
if (!NATIVE) console.log("native engine tests skipped: run 'deno task install:native' first");

function engineTest(kind: EngineKind, name: string, fn: () => Promise<void>): void {
  Deno.test({ name: `[${kind}] ${name}`, ignore: kind === "native" && !NATIVE, fn });
}

for (const kind of ENGINE_KINDS) {
  engineTest(
    kind,
    "gives the model's reference outputs, in one batch and split over runs",
    async () => {
      const engine = await InferenceEngine.start(MODEL, { engine: kind, maxBatch: 2 });
      try {
        assert.match(
          engine.shape.runtime,
          kind === "native" ? /^onnxruntime-node 1\.30\.0/ : /^onnxruntime-web 1\.30\.0/,
        );
        assert.equal(engine.shape.input, "input");
        const cases = reference.cases;
        const input = new Float32Array(cases.length * 784);
        cases.forEach((c, i) => input.set(decodeF32(c.pixels), i * 784));
        // maxBatch 2: the cases run in pieces, and still come back in order.
        const { scores, ms } = await engine.run(input, cases.length);
        assert.ok(ms > 0);
        cases.forEach((c, i) => {
          for (let k = 0; k < 10; k++) {
            assert.ok(
              Math.abs(scores[i * 10 + k] - c.probabilities[k]) <= reference.tolerance,
              `case ${i} class ${k}: ${scores[i * 10 + k]} vs ${c.probabilities[k]}`,
            );
          }
        });
      } finally {
        engine.close();
      }
    },
  );

  engineTest(kind, "refuses a model without 10 outputs per sample, with a sentence", async () => {
    await assert.rejects(
      () => InferenceEngine.start(WRONG, { engine: kind }),
      (e: unknown) =>
        e instanceof EngineError && /its output \[[^\]]*5\].*one output of 10/.test(e.message),
    );
  });

  engineTest(kind, "two instances run side by side with 2 threads each", async () => {
    const engines = await Promise.all(
      [0, 1].map(() => InferenceEngine.start(MODEL, { engine: kind, threads: 2 })),
    );
    try {
      const input = decodeF32(reference.cases[0].pixels);
      const results = await Promise.all(engines.map((e) => e.run(input, 1)));
      for (let k = 0; k < 10; k++) assert.equal(results[0].scores[k], results[1].scores[k]);
    } finally {
      for (const engine of engines) engine.close();
    }
  });

  engineTest(kind, "a server answers a framed and a legacy request", async () => {
    const server = await startServer({
      hostname: "127.0.0.1",
      port: 0,
      engine: kind,
      log: new Logger("error", () => {}),
    });
    try {
      assert.match(server.describe(), kind === "native" ? /onnxruntime-node/ : /onnxruntime-web/);
      const address = { hostname: "127.0.0.1", port: server.addr.port };
      const pixels = decodeF32(reference.cases[0].pixels);
      const client = await InferenceClient.connect(address);
      const reply = await client.infer({ digit: Array.from(pixels) });
      client.close();
      assert.equal(reply.status, Status.OK);
      const { reply: legacy } = await legacyInfer(address, Array.from(pixels));
      assert.ok(!(legacy instanceof WireError));
      for (let k = 0; k < 10; k++) {
        assert.ok(Math.abs(legacy.scores![k] - reply.scores![k]) < 1e-6);
      }
    } finally {
      await server.shutdown();
    }
  });
}
