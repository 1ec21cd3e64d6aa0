// A failed listener Worker (`--listeners 2`) is started again in its place,
// with real Workers, real sockets and the real server: the new one takes the
// same thread and ports and serves the board port and the HTTP port; the
// restarts are counted (`mnist_listener_restarts_total`) and logged; while
// none serves the server is not ready; a shutdown starts none. The back-off
// of `ListenerRestarts` against a stand-in start. Needs `deno test --unstable-net`.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { Status } from "../../shared/errors.ts";
import { Logger } from "../log.ts";
import { serverWithListeners } from "../testing/http_modes.ts";
import { address } from "../testing/server.ts";
import { ignorableTests, requireTool } from "../testing/tools.ts";
import { selfSignedCertificate } from "../testing/tls_cert.ts";
import type { InferenceServer } from "../inference_server.ts";
import { listenerOptions } from "../board_settings.ts";
import { withServerDefaults } from "../options.ts";
import { ListenerRestarts } from "./listener_restarts.ts";
import { ListenerWorkers } from "./listener_workers.ts";
import { failWorker } from "../testing/listeners.ts";
// A restart may wait out its back-off first: `until`'s 15 s cover the longest (5 s).
import { until } from "../testing/until.ts";

const digit = Uint8Array.from({ length: 784 }, (_, i) => (i * 7) % 251 > 120 ? 255 : 0);
const infer = JSON.stringify({
  inputs: [{ name: "input", datatype: "UINT8", shape: [1, 784], data: [...digit] }],
});

/** A logger in JSON whose lines are kept, parsed. */
function recording(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: new Logger("info", (line) => lines.push(JSON.parse(line)), "json"), lines };
}

/** Tests with a certificate made by openssl at test time. */
const openssl = ignorableTests(requireTool("openssl", "openssl"));

/** Fails every listener Worker of `server` in turn, each once restarted: whatever serves then is new. */
async function failEveryWorker(server: InferenceServer): Promise<void> {
  const workers = server.listenerWorkers!;
  const first = [...workers.links];
  for (const [i, failed] of first.entries()) {
    await failWorker(failed);
    await until(() => workers.links[i] !== failed, `Worker ${i + 1} restarted`);
    assert.equal(workers.links[i].thread, failed.thread, "the same thread in the limits");
    assert.equal(workers.links[i].ended, false);
  }
  assert.ok(workers.links.every((link) => !first.includes(link)), "every Worker is a new one");
  assert.equal(workers.serving, first.length);
}

/**
 * Whether the port accepts: false once nothing listens on it. A reset is no
 * answer (a failed Worker's socket closing with the connection in its queue):
 * asked again.
 */
async function accepts(port: number): Promise<boolean> {
  for (let resets = 0;; resets++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch (e) {
      if (e instanceof Deno.errors.ConnectionRefused) return false;
      if (!(e instanceof Deno.errors.ConnectionReset) || resets >= 100) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

Deno.test("--listeners 2: each failed Worker is restarted in its place, and the new ones serve both ports, counted and logged", async () => {
  const { log, lines } = recording();
  const server = await serverWithListeners(2, { log });
  try {
    await failEveryWorker(server);
    assert.equal(server.ready(), true);

    // The board port, on the port it had.
    const client = await InferenceClient.connect(address(server));
    const reply = await client.infer({ digitU8: digit });
    client.close();
    assert.equal(reply.status, Status.OK);
    assert.equal(reply.predicted >= 0 && reply.predicted <= 9, true);
    assert.equal(server.connectionsPerListener.reduce((a, b) => a + b), 1, "a new Worker took it");

    // The HTTP port, on the port it had.
    const base = `http://127.0.0.1:${server.http!.addr.port}`;
    const ready = await fetch(`${base}/v2/health/ready`);
    await ready.body?.cancel();
    assert.equal(ready.status, 200);
    const answer = await fetch(`${base}/v2/models/mnist/infer`, { method: "POST", body: infer });
    assert.equal(answer.status, 200, await answer.text());
    assert.equal(server.http!.requestsPerListener!.reduce((a, b) => a + b), 2);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^mnist_listener_restarts_total 2$/m);
    assert.match(metrics, /^mnist_ready 1$/m);
    const restarted = lines.filter((line) => line.msg === "a listener Worker restarted");
    assert.deepEqual(restarted.map((line) => line.thread), [1, 2]);
  } finally {
    await server.shutdown();
  }
});

openssl.test("--listeners 2: restarted Workers serve the TLS board port on the port it had", async () => {
  const certificate = await selfSignedCertificate();
  const tls = { port: 0, cert: certificate.cert, key: certificate.key };
  const server = await serverWithListeners(2, { tls });
  try {
    await failEveryWorker(server);
    const client = await InferenceClient.connect(
      { hostname: "127.0.0.1", port: server.tlsAddr!.port },
      { tls: { caCerts: [certificate.cert] } },
    );
    const reply = await client.infer({ digitU8: digit });
    client.close();
    assert.equal(reply.status, Status.OK);
  } finally {
    await server.shutdown();
    await Deno.remove(certificate.dir, { recursive: true });
  }
});

Deno.test("--listeners 2: while no listener Worker serves the server is not ready, and a shutdown starts none", async () => {
  const { log, lines } = recording();
  const server = await serverWithListeners(2, { log });
  const workers = server.listenerWorkers!;
  // Restarts wait long: the Workers stay down while the test looks.
  workers.restarts.delaysMs = [60_000];
  let stopped = false;
  try {
    const port = server.addr.port;
    await failWorker(workers.links[0]);
    assert.equal(workers.serving, 1);
    assert.equal(server.ready(), true, "one Worker still serves");
    assert.equal(await accepts(port), true);

    await failWorker(workers.links[1]);
    assert.equal(workers.serving, 0);
    assert.equal(server.ready(), false, "no Worker serves: not ready");
    // Nothing listens on the port any more, as readiness says.
    for (let i = 0; await accepts(port); i++) {
      assert.ok(i < 500, "the failed Workers' sockets closed");
      await new Promise((r) => setTimeout(r, 10));
    }

    // The shutdown cuts the restarts' waits short (a timer left would fail the test) and starts none.
    await server.shutdown();
    stopped = true;
    assert.equal(workers.restarts.count, 0);
    assert.equal(workers.serving, 0);
    assert.equal(lines.filter((line) => line.msg === "a listener Worker restarted").length, 0);
    assert.equal(lines.filter((line) => line.msg === "restarting a listener Worker").length, 2);
  } finally {
    if (!stopped) await server.shutdown();
  }
});

/** Two listener Workers on a free loopback port, not yet serving. */
function startWorkers(log: Logger): Promise<ListenerWorkers> {
  const options = withServerDefaults({ log, hostname: "127.0.0.1", port: 0 });
  return ListenerWorkers.start(2, listenerOptions(options));
}

Deno.test("--listeners 2: a restarted Worker that fails to bind (here the HTTP port) is tried again after its back-off", async () => {
  const { log, lines } = recording();
  const workers = await startWorkers(log);
  workers.restarts.delaysMs = [0, 10];
  let binds = 0;
  workers.onRestart = () =>
    ++binds < 3 ? Promise.reject(new Error("the HTTP port is taken")) : Promise.resolve();
  try {
    const failed = workers.links[0];
    await failWorker(failed);
    await until(() => workers.links[0] !== failed, "Worker 1 restarted");
    assert.equal(binds, 3);
    assert.equal(workers.restarts.count, 1);
    assert.equal(workers.serving, 2);
    const refused = lines.filter((line) => line.msg === "a listener Worker failed to restart");
    assert.deepEqual(refused.map((line) => line.thread), [1, 1]);
    assert.match(String(refused[0].why), /attempt 1 failed: the HTTP port is taken/);
  } finally {
    await workers.shutdown();
  }
});

Deno.test("--listeners 2: a shutdown while a restarted Worker binds ends it and ends", async () => {
  const { log, lines } = recording();
  const workers = await startWorkers(log);
  let binding!: () => void;
  const bound = new Promise<void>((resolve) => binding = resolve);
  // The restarted Worker's bind never ends by itself.
  workers.onRestart = () => {
    binding();
    return new Promise(() => {});
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ended = "not asked";
  try {
    await failWorker(workers.links[1]);
    await bound;
    ended = await Promise.race([
      workers.shutdown().then(() => "ended"),
      new Promise<string>((r) => timer = setTimeout(() => r("no end in 10 s"), 10_000)),
    ]);
    assert.equal(ended, "ended");
    assert.equal(workers.restarts.count, 0);
    assert.equal(workers.links[1].ended, true, "nothing took the failed one's place");
    assert.equal(lines.filter((line) => line.msg === "a listener Worker restarted").length, 0);
  } finally {
    clearTimeout(timer);
    // A shutdown that did not end would hang the test too.
    if (ended !== "no end in 10 s") await workers.shutdown();
  }
});

Deno.test("a restart that fails at once again waits longer each time, and stops when told", async () => {
  const { log, lines } = recording();
  let tries = 0;
  let failUntil = 4;
  const restarts = new ListenerRestarts([0, 20, 40], log, (thread) => {
    tries++;
    return tries < failUntil
      ? Promise.reject(new Error("the port is taken"))
      : Promise.resolve(`Worker as thread ${thread}`);
  });
  const waits = () =>
    lines.filter((line) => line.msg === "restarting a listener Worker").map((line) => line.waitMs);

  assert.equal(await restarts.restart(1, "it failed"), "Worker as thread 1");
  assert.deepEqual(waits(), [0, 20, 40, 40], "the last wait repeats");
  assert.equal(restarts.count, 1);
  assert.equal(
    lines.filter((line) => line.msg === "a listener Worker failed to restart").length,
    3,
  );

  // It fails again at once: the back-off goes on from where it stood, not from 0.
  assert.equal(await restarts.restart(1, "it failed again"), "Worker as thread 1");
  assert.deepEqual(waits().slice(4), [40]);
  // Another thread has its own back-off.
  assert.equal(await restarts.restart(2, "it failed"), "Worker as thread 2");
  assert.deepEqual(waits().slice(5), [0]);

  // Told to stop while it waits: it gives up, and starts nothing.
  restarts.delaysMs = [60_000];
  failUntil = Infinity;
  const before = tries;
  const waiting = restarts.restart(1, "it failed");
  await restarts.stop();
  assert.equal(await waiting, null);
  assert.equal(tries, before);
  assert.equal(await restarts.restart(2, "after the stop"), null);
  assert.equal(restarts.count, 3);
});

Deno.test("--listeners 2: each place's HTTP request count stays while its restart binds, or after an attempt failed", async () => {
  const server = await serverWithListeners(2, {});
  const workers = server.listenerWorkers!;
  const http = server.http!;
  // A failed attempt's retry waits long: the count is read while none serves.
  workers.restarts.delaysMs = [0, 60_000];
  try {
    for (let i = 0; i < 4; i++) {
      const live = await fetch(`http://127.0.0.1:${http.addr.port}/v2/health/live`);
      await live.body?.cancel();
    }
    const counted = [...http.requestsPerListener!];
    assert.equal(counted[0] + counted[1], 4);
    // Each restart's first attempt binds the HTTP port, then fails.
    const bindHttp = workers.onRestart!;
    let bound = 0;
    workers.onRestart = async (link) => {
      await bindHttp(link);
      bound++;
      throw new Error("it fails after binding the HTTP port");
    };
    for (const link of [...workers.links]) await failWorker(link);
    await until(() => bound === 2, "both places' first attempts bound the HTTP port");
    assert.deepEqual(http.requestsPerListener, counted);
  } finally {
    await server.shutdown();
  }
});
