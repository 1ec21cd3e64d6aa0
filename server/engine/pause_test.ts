// A whole server process paused (SIGSTOP) under load is not a hung engine:
// after SIGCONT every request is answered and no worker was replaced.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { Status } from "../../shared/errors.ts";
import { spawnServer } from "../testing/server_process.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("a server paused three times for 2.5 s under load keeps its engine and answers everything", async () => {
  const server = await spawnServer({ threads: 1 });
  const address = { hostname: server.hostname, port: server.port };
  const clients = await Promise.all(
    Array.from({ length: 4 }, () => InferenceClient.connect(address)),
  );
  try {
    let sending = true;
    const statuses: number[] = [];
    // Enough pipelined load that the engine is nearly always mid-run when the process stops.
    const load = clients.map(async (client) => {
      while (sending) {
        const batch = Array.from(
          { length: 128 },
          () => client.infer({ digitU8: new Uint8Array(784) }),
        );
        for (const reply of await Promise.all(batch)) statuses.push(reply.status);
      }
    });
    for (let pause = 0; pause < 3; pause++) {
      await sleep(300);
      Deno.kill(server.pid, "SIGSTOP");
      await sleep(2500);
      Deno.kill(server.pid, "SIGCONT");
    }
    await sleep(300);
    sending = false;
    await Promise.all(load);
    assert.ok(statuses.length > 512);
    assert.deepEqual(statuses.filter((s) => s !== Status.OK), []);
    assert.doesNotMatch(server.stderr(), /engine worker replaced/);
  } finally {
    for (const client of clients) client.close();
    assert.equal(await server.stop(), 0);
  }
});
