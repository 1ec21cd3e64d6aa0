// The board's memory budgets through a code update over the air, on the real
// interpreter with 1,600 variables (see espruino_budget_test.ts; ignored
// unless MNIST_ESPRUINO names it). The board is flashed as a person does it
// (`deno task flash` over the telnet console: boot file, mnist0.js,
// digits), the server holds a newer release and rolls it out to every
// board; the board fetches it over its inference connection, its boot file
// checks it and runs it. Figures, net of an empty interpreter: at start-up,
// the most in use while the update runs (sampled every 2 ms by an interval
// that prints each new high, less its own cost), after the new code's
// start-up and report, and the growth over 100 requests after it. The test
// fails over a budget: 250 at start-up, 500 while the update runs, nothing
// left behind by the update nor grown after it, and the bundle (flashed and
// released) at most 6,144 bytes, the boot file at most 1,024.
//
//   MNIST_ESPRUINO=/path/to/espruino deno test -A scripts/espruino_update_budget_test.ts
import assert from "node:assert/strict";
import { callHttp } from "../server/testing/releases.ts";
import { clientName, SIZE_BUDGET } from "../device/build.ts";
import { BOOT_BUDGET } from "../device/boot.ts";
import { ADMIN, firmwareAt, startOtaServer } from "../device/ota_testing.ts";
import { ESPRUINO, flashOverTelnet, Interpreter, sleep } from "./espruino_linux.ts";
import { writeRelease } from "../server/fleet/releases.ts";

const BUDGET = { startUp: 250, inFlight: 500 };

Deno.test({
  name: "budgets on Espruino with 1,600 variables: a code update over the air",
  ignore: !ESPRUINO,
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.mkdir(`${dir}/empty`);
    await Deno.mkdir(`${dir}/board`);
    const server = await startOtaServer(`${dir}/firmware`);
    try {
      const next = await firmwareAt(server.addr.port, "1.0.1");
      const [version, build] = next.version.split("+");
      await writeRelease(`${dir}/firmware`, clientName(build, version), next.code);
      await callHttp(server, "POST", "/v2/fleet/releases", { token: ADMIN });

      let board = await Interpreter.start(`${dir}/empty`);
      const empty = await board.usage();
      await board.close();
      await flashOverTelnet(`${dir}/board`, server.addr.port, `${dir}/firmware.js`, ["--updates"]);
      const bytes = (await Deno.stat(`${dir}/firmware.js`)).size;
      const bootBytes = (await Deno.stat(`${dir}/boot.js`)).size;

      board = await Interpreter.start(`${dir}/board`);
      const startUp = await board.usage() - empty;
      for (let i = 0; i < 3; i++) await board.run("test()", /^Predicted/);
      const before = await board.usage() - empty;
      const rollout = await callHttp(server, "POST", "/v2/fleet/rollouts", {
        token: ADMIN,
        body: { release: `mnist-device/${next.version}`, share: 1 },
      });
      assert.equal(rollout.status, 201);

      // The sampler prints each new high; its own cost is its high while nothing runs.
      const top = await board.usage();
      await board.run(
        "global.M=0;global.I=setInterval(function(){var u=process.memory().usage;" +
          'if(u>M){M=u;print("MAX "+u)}},2)',
      );
      await sleep(500);
      const [idle] = await board.run('print("IDLE "+M);M=0', /^IDLE \d+$/);
      const cost = Number(idle.slice(5)) - top;
      // The next reply carries the offer: fetched, checked by the boot file, run.
      await board.run("test()", new RegExp(`^mnist-device ${next.version.replace("+", "\\+")}$`));
      const highs = board.lines().filter((l) => /^MAX \d+$/.test(l)).map((l) => Number(l.slice(4)));
      const inFlight = Math.max(...highs) - cost - empty;
      // The new code's report (UPDATED) ends its trial.
      for (let i = 0; i < 600 && !board.lines().some((l) => /^Update .* 4$/.test(l)); i++) {
        await sleep(50);
      }
      await sleep(1000);
      const afterUpdate = await board.usage() - empty;
      await board.run("test()", /^Predicted: (\d), expected: \1$/);
      await sleep(300);
      const settled = await board.usage();
      await board.run("start(0.1)", /^Predicted/, 100, 300000);
      await board.run("stop()", /^Stopped$/);
      await sleep(500);
      const growth = await board.usage() - settled;
      assert.equal(
        await board.run('print("V "+VERSION)', /^V /).then((l) => l[0]),
        `V ${next.version}`,
      );
      await board.close();

      console.log(
        `update over the air: bundle ${bytes} bytes (release ${next.size}), boot file ` +
          `${bootBytes}; ${startUp} after start-up, ${before} after 3 requests, ` +
          `${inFlight} at most while it runs (${highs.length} highs), ${afterUpdate} after ` +
          `the new code's start-up and report, ${growth} more after 100 more requests`,
      );
      assert.ok(bytes <= SIZE_BUDGET && next.size <= SIZE_BUDGET, `${bytes}, ${next.size} bytes`);
      assert.ok(bootBytes <= BOOT_BUDGET, `boot file ${bootBytes} bytes`);
      assert.ok(startUp <= BUDGET.startUp, `${startUp} after start-up`);
      assert.ok(inFlight <= BUDGET.inFlight, `${inFlight} while the update runs`);
      // The new code, with its buffers made, holds no more than the old one did.
      assert.ok(afterUpdate <= before, `${afterUpdate} after the update, ${before} before`);
      assert.ok(growth <= 0, `grew by ${growth} over 100 requests`);
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
