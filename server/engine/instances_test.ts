import assert from "node:assert/strict";
import { standInWorker } from "../testing/engine_stand_in.ts";
import { startEngines } from "./instances.ts";

Deno.test("the first instance loads and warms alone; the others start once it has", async () => {
  const events: string[] = [];
  const log = new BroadcastChannel("instances_test");
  log.onmessage = (event) => events.push(event.data);
  // Says when it is asked to load and when it runs. Loading takes until
  // another worker says it loads too, or 1 s: started at once, every worker
  // loads before any runs, however long each takes to boot.
  const workerUrl = standInWorker({
    prelude: `const log = new BroadcastChannel("instances_test");`,
    open: `log.postMessage("load");
      await new Promise((resolve) => {
        setTimeout(resolve, 1000);
        log.onmessage = (event) => event.data === "load" && resolve();
      });`,
    run: `if (i === 0) log.postMessage("run");`,
  });
  const engines = await startEngines(new Uint8Array(8), 3, { workerUrl, maxBatch: 8 });
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
