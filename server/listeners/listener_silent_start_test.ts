// A listener Worker (`--listeners N`) that goes silent during its start-up,
// its event loop running but its bind never answered (by
// `server/testdata/silent_at_start_listener_worker.ts`), with real Workers,
// real sockets and the real server: neither a start nor a restart waits for
// it past `--listener-timeout-ms`. Needs `deno test --unstable-net`.
import assert from "node:assert/strict";
import { Logger } from "../log.ts";
import { serverWithListeners, stalledRequest } from "../testing/http_modes.ts";
import { failWorker } from "../testing/listeners.ts";
import { until } from "../testing/until.ts";
import { listenerOptions } from "../board_settings.ts";
import { withServerDefaults } from "../options.ts";
import { ListenerWorkers } from "./listener_workers.ts";
import { ListenerStartError, silentAtStart } from "./worker_start.ts";

const silentOn = (request: "listen" | "http" | "spin") =>
  new URL(`../testdata/silent_at_start_listener_worker.ts?silent=${request}`, import.meta.url);

/** The Workers' options with Workers silent on a bind of the board port, and a limit of 300 ms. */
function silentOnListen(log: Logger, how: "listen" | "spin" = "listen") {
  return listenerOptions(withServerDefaults({
    log,
    hostname: "127.0.0.1",
    port: 0,
    listenerTimeoutMs: 300,
    listenerWorkerUrl: silentOn(how),
  }));
}

/** A log that keeps its JSON lines. */
function keptLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: new Logger("info", (line) => lines.push(JSON.parse(line)), "json"), lines };
}

Deno.test("--listeners 2: a Worker silent while it binds fails the start with a sentence after --listener-timeout-ms, instead of a start that never ends", async () => {
  const { log } = keptLog();
  const options = silentOnListen(log);
  const started = performance.now();
  // A ListenerStartError: `deno task serve` prints its sentence alone, as its other start errors.
  const failed = await ListenerWorkers.start(2, options).then(() => null, (e) => e);
  assert.ok(failed instanceof ListenerStartError, String(failed));
  assert.equal(failed.message, silentAtStart(300));
  const ms = performance.now() - started;
  // A timer may fire a fraction of a millisecond early by this clock.
  assert.ok(ms >= 299, `given up after ${ms.toFixed(0)} ms, not before its limit`);
});

Deno.test("--listeners 1: a Worker whose code has not loaded within its start deadline fails the start, naming it", async () => {
  const { log } = keptLog();
  const options = listenerOptions(withServerDefaults({
    log,
    hostname: "127.0.0.1",
    port: 0,
    listenerTimeoutMs: 300,
  }));
  // No Worker loads its code within 1 ms: the deadline before the first answer is this one.
  await assert.rejects(
    ListenerWorkers.start(1, { ...options, startTimeoutMs: 1 }),
    new Error(silentAtStart(1, true)),
  );
});

Deno.test("--listeners 1: a restarted Worker silent while it binds is given up and tried again, and the Workers still stop", async () => {
  const { log, lines } = keptLog();
  const options = silentOnListen(log);
  // The first Worker binds port 0 and serves; every one started in its place joins that port, silently.
  const workers = await ListenerWorkers.start(1, options);
  workers.restarts.delaysMs = [0, 50];
  try {
    await failWorker(workers.links[0]);
    const given = () =>
      lines.filter((line) =>
        line.msg === "a listener Worker failed to restart" &&
        String(line.why).includes(silentAtStart(300))
      );
    await until(() => given().length >= 2, "two attempts given up at the limit");
    assert.equal(workers.serving, 0, "none took the place of the failed one");
  } finally {
    await workers.shutdown();
  }
});

Deno.test("--listeners 1: a restarted Worker stuck in a loop once bound is given up, and no other joins it while it runs; once it stops its place is started again", async () => {
  const { log, lines } = keptLog();
  // The first Worker binds port 0 and serves; one started in its place binds, then loops for 3 s.
  const workers = await ListenerWorkers.start(1, silentOnListen(log, "spin"));
  workers.restarts.delaysMs = [0, 50];
  try {
    await failWorker(workers.links[0]);
    const stuck = () =>
      lines.filter((line) =>
        line.msg === "a listener Worker stuck while it started: its place is given up"
      );
    await until(() => stuck().length === 1, "the stuck Worker's place given up");
    assert.match(String(stuck()[0].why), /did not stop: restart the process/);
    // Past its back-off (50 ms), no second Worker was started on that thread.
    await new Promise((r) => setTimeout(r, 300));
    const attempts = () => lines.filter((line) => line.msg === "restarting a listener Worker");
    assert.equal(attempts().length, 1, JSON.stringify(attempts()));
    assert.equal(workers.serving, 0);
    // It runs on (3 s), counted as stuck: the process is not live. Once it stops, it is not, and
    // its place is started again (this test's Workers all loop again: the same story follows).
    assert.equal(workers.stuck.count, 1);
    await until(() => workers.stuck.count === 0, "the stuck Worker stopped");
    assert.equal(lines.filter((line) => line.msg === "a stuck listener Worker stopped").length, 1);
    await until(() => attempts().length === 2, "its place started again");
    assert.match(String(attempts()[1].why), /a listener Worker stuck there has stopped/);
  } finally {
    await workers.shutdown();
  }
});

Deno.test("--listeners 2: a Worker silent while it binds the HTTP port is given up as hung; the server starts and its HTTP port answers", async () => {
  const { log, lines } = keptLog();
  const server = await serverWithListeners(2, {
    log,
    listenerTimeoutMs: 300,
    listenerWorkerUrl: silentOn("http"),
  });
  try {
    const hung = lines.filter((line) => line.msg === "a listener Worker hung: given up");
    assert.ok(hung.length >= 1, JSON.stringify(lines.map((line) => line.msg)));
    assert.equal(hung[0].thread, 2);
    assert.equal(hung[0].error, silentAtStart(300));
    assert.equal(server.ready(), true);
    const ready = await stalledRequest(server.http!.addr.port, "GET /v2/health/ready HTTP/1.1", "");
    assert.match(ready, /^HTTP\/1\.1 200 /);
  } finally {
    await server.shutdown();
  }
});
