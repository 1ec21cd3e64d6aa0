// The dashboard in a real browser: Debian's chromium driven by npm
// playwright-core, in a subprocess with its own deno.json and lock (so
// serving never downloads playwright) and the permissions playwright needs.
import assert from "node:assert/strict";
import { Logger } from "../log.ts";
import { startServer } from "../server.ts";
import { runBrowserDriver } from "../testing/browser.ts";
import { requireTool } from "../testing/tools.ts";

const NO_CHROMIUM = requireTool("chromium", "chromium");

Deno.test({
  name: "the dashboard shows counts rising and the digits sent over TCP, from one page, offline",
  ignore: NO_CHROMIUM,
  async fn() {
    const server = await startServer({
      hostname: "127.0.0.1",
      port: 0,
      log: new Logger("error", () => {}),
    });
    try {
      const result = await runBrowserDriver("dashboard_browser.ts", [
        "--url",
        `http://127.0.0.1:${server.http!.addr.port}/`,
        "--tcp",
        String(server.addr.port),
        "--send",
        "5",
      ]);
      assert.deepEqual(result.errors, [], "no script errors on the page");
      assert.deepEqual(result.external, [], "the page loads nothing from elsewhere");
      assert.equal(result.before.ready, "ready");
      assert.equal(result.before.digits, 0);
      assert.equal(result.after.total, result.before.total + 5, "the request count rose by 5");
      assert.equal(result.after.digits, 5, "the 5 digits are drawn");
      assert.equal(result.after.devices, 1, "one device: this test's address");
      for (const digit of result.drawn) {
        // Each sent digit is a 4×20 bar: 80 inked pixels, predicted as some digit with a score.
        assert.equal(digit.ink, 80, JSON.stringify(digit));
        assert.match(digit.label, /^\d\d+\.\d%$/);
      }
    } finally {
      await server.shutdown();
    }
  },
});
