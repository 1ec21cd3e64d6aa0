// The fleet page in a real browser: Debian's chromium driven by npm
// playwright-core, in a subprocess with its own deno.json and lock (as the
// dashboard's test). 1,000 boards behind one address are 1,000 rows; those
// that went quiet are marked silent; the table sorts by a header's click; a
// code rollout shows with its counts; a poll fetches at most the page's limit.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { Command } from "../../shared/codec.ts";
import { Logger } from "../log.ts";
import { startServer } from "../server.ts";
import { runBrowserDriver } from "../testing/browser.ts";
import { requireTool } from "../testing/tools.ts";
import { fakeFirmware, NAME, releaseDir } from "../testing/releases.ts";
import { WireError } from "../../shared/errors.ts";

const NO_CHROMIUM = requireTool("chromium", "chromium");
const digitU8 = new Uint8Array(784);

async function board(port: number, device: string): Promise<void> {
  const client = await InferenceClient.connect({ hostname: "127.0.0.1", port });
  await client.send({ command: Command.INFERENCE_INPUT, digitU8, device, client: "sim 1.0" });
  client.close();
}

Deno.test({
  name: "the fleet page lists 1,000 boards behind one address, the quiet ones marked silent",
  ignore: NO_CHROMIUM,
  async fn() {
    const firmwareDir = await releaseDir({ "1.0.1": fakeFirmware(700, 1) });
    const server = await startServer({
      hostname: "127.0.0.1",
      port: 0,
      log: new Logger("error", () => {}),
      // Long enough that the board which keeps talking never looks silent on a loaded host (a
      // second was too short while chromium started beside the CI's other tests).
      deviceSilentAfter: 3,
      firmwareDir,
    });
    try {
      const port = server.addr.port;
      const ids = Array.from({ length: 999 }, (_, i) => `sim-${String(i).padStart(4, "0")}`);
      for (let i = 0; i < ids.length; i += 100) {
        await Promise.all(ids.slice(i, i + 100).map((id) => board(port, id)));
      }
      // Quiet past --device-silent-after: these 999 are silent; one more is not.
      await new Promise((r) => setTimeout(r, 3200));
      // A rollout to one board: the page shows it, and that board's offer.
      const rollout = server.updates.start({
        release: `${NAME}/1.0.1`,
        share: null,
        devices: ["sim-9999"],
        perMinute: 10,
      });
      assert.ok(!(rollout instanceof WireError));
      // One board keeps talking while the browser starts and reads the page.
      const live = await InferenceClient.connect({ hostname: "127.0.0.1", port });
      const first = await live.send({
        command: Command.INFERENCE_INPUT,
        digitU8,
        device: "sim-9999",
        client: `${NAME} 1.0.0`,
      });
      assert.equal(first.update?.release, `${NAME}/1.0.1`);
      const keepAlive = setInterval(() => live.infer({ digitU8 }).catch(() => {}), 200);
      const page = `http://127.0.0.1:${server.http!.addr.port}/fleet`;
      const [result, capped] = await Promise.all([
        runBrowserDriver("fleet_browser.ts", ["--url", page]),
        runBrowserDriver("fleet_browser.ts", ["--url", `${page}?limit=10`]),
      ]).finally(() => {
        clearInterval(keepAlive);
        live.close();
      });
      assert.deepEqual(result.errors, [], "no script errors on the page");
      assert.deepEqual(result.external, [], "the page loads nothing from elsewhere");
      assert.deepEqual(result.table, {
        rows: 1000,
        silentRows: 999,
        silentTags: 999,
        sparklines: 1000,
        seen: "1000",
        silent: "999",
        shown: "",
        requestLines: 1,
        latencyLines: 2,
      });
      // A poll fetches at most the page's limit; the counts are the fleet's.
      assert.deepEqual(
        [capped.table.rows, capped.table.seen, capped.table.silent, capped.table.shown],
        [10, "1000", "999", " (the 10 heard from last shown)"],
      );
      assert.deepEqual(result.rollouts, [
        ["r1", `${NAME}/1.0.1`, "1 device", "10/min", "running", "1", "0", "0", "0", "0", "0"],
      ]);
      assert.deepEqual(result.ascending, ["sim-0000", "sim-0001", "sim-0002"]);
      assert.deepEqual(result.descending, ["sim-9999", "sim-0998", "sim-0997"]);
    } finally {
      await server.shutdown();
      await Deno.remove(firmwareDir, { recursive: true });
    }
  },
});
