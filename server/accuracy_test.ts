// The served model's accuracy on digits its training never saw: every
// held-out digit (models/mnist_data.ts) goes through the real server over
// TCP, as bytes the way a board sends them, and as floats the old way.
import assert from "node:assert/strict";
import { InferenceClient, legacyInfer } from "../client/client.ts";
import { Status, WireError } from "../shared/errors.ts";
import { loadHeldOut } from "../models/mnist_data.ts";
import { Logger } from "./log.ts";
import { startServer } from "./server.ts";

const REQUIRED = 0.985;

Deno.test("the served model classifies at least 98.5% of the held-out digits correctly", async () => {
  const heldOut = loadHeldOut();
  assert.equal(heldOut.length, 1000);
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("error", () => {}),
  });
  try {
    const address = { hostname: "127.0.0.1", port: server.addr.port };
    const client = await InferenceClient.connect(address);
    const replies = await Promise.all(
      heldOut.map((d) => client.infer({ digitU8: d.pixels.map((v) => Math.round(v * 255)) })),
    );
    client.close();
    let correct = 0;
    replies.forEach((reply, i) => {
      assert.equal(reply.status, Status.OK);
      if (reply.predicted === heldOut[i].label) correct++;
    });
    const accuracy = correct / heldOut.length;
    console.log(`held-out accuracy over TCP (framed, bytes): ${(accuracy * 100).toFixed(1)}%`);
    assert.ok(accuracy >= REQUIRED, `accuracy ${accuracy} < ${REQUIRED}`);

    // The legacy path (the same pixels as floats, a connection per digit) agrees on a sample.
    for (let i = 0; i < heldOut.length; i += 50) {
      const floats = heldOut[i].pixels.map((v) => Math.round(v * 255) / 255);
      const { reply, length } = await legacyInfer(address, floats);
      assert.equal(length, 96);
      assert.ok(!(reply instanceof WireError));
      for (let k = 0; k < 10; k++) {
        assert.ok(Math.abs(reply.scores![k] - replies[i].scores![k]) < 1e-5);
      }
    }
  } finally {
    await server.shutdown();
  }
});
