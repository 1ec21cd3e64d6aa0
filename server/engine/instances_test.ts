import assert from "node:assert/strict";
import { startEngines } from "./instances.ts";

const SERVE = new URL("./serve.ts", import.meta.url).href;

/**
 * A stand-in engine worker on the real serve loop that says on a
 * BroadcastChannel when it is asked to load (after a pause, as compiling
 * takes time) and when it runs.
 */
const LOGGING_WORKER = URL.createObjectURL(
  new Blob([
    `import { serveEngine } from ${JSON.stringify(SERVE)};
    const log = new BroadcastChannel("instances_test");
    serveEngine(async () => {
      log.postMessage("load");
      await new Promise((resolve) => setTimeout(resolve, 100));
      return {
        session: {
          inputNames: ["input"],
          outputNames: ["scores"],
          inputMetadata: [{ isTensor: true, shape: ["batch", 784] }],
          outputMetadata: [{ isTensor: true, shape: ["batch", 10] }],
          run(feeds) {
            log.postMessage("run");
            return Promise.resolve({
              scores: { data: new Float32Array(feeds.input.dims[0] * 10), dispose() {} },
            });
          },
          release: () => Promise.resolve(),
        },
        tensor: (data, dims) => ({ data, dims }),
        runtime: "logging stand-in",
      };
    });`,
  ], { type: "application/javascript" }),
);

Deno.test("the first instance loads and warms alone; the others start once it has", async () => {
  const events: string[] = [];
  const log = new BroadcastChannel("instances_test");
  log.onmessage = (event) => events.push(event.data);
  const engines = await startEngines(new Uint8Array(8), 3, {
    workerUrl: LOGGING_WORKER,
    maxBatch: 8,
  });
  try {
    // Messages from the last runs may still be on their way.
    while (events.filter((e) => e === "load").length < 3) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const loads = events.flatMap((e, i) => e === "load" ? [i] : []);
    const firstRun = events.indexOf("run");
    assert.equal(loads[0], 0);
    assert.ok(firstRun > 0 && firstRun < loads[1], `events: ${events.join(" ")}`);
    assert.equal(engines.length, 3);
  } finally {
    log.close();
    for (const engine of engines) engine.close();
  }
});
