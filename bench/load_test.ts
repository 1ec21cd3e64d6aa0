// The load generator against real sockets: an in-process server with the real
// model, a port nobody listens on, and a listener that never answers.
import assert from "node:assert/strict";
import { Logger } from "../server/log.ts";
import { startServer } from "../server/server.ts";
import { syntheticDigits } from "./digits.ts";
import { LoadRunner } from "./load.ts";
import { type LoadPlan } from "./load_plan.ts";
import { errorKind } from "./load_wire.ts";
import { NO_REPLY } from "./load_record.ts";
import { LoadPool } from "./pool.ts";

const quiet = new Logger("error", () => {});

function plan(port: number, overrides: Partial<LoadPlan> = {}): LoadPlan {
  return {
    hostname: "127.0.0.1",
    port,
    httpPort: 0,
    protocol: "legacy",
    digits: "float",
    keepAlive: false,
    garbage: false,
    clients: 3,
    firstClient: 0,
    requests: 2,
    durationMs: 30_000,
    timeoutMs: 30_000,
    ...overrides,
  };
}

Deno.test("every protocol and digit kind gets OK replies from a real server", async () => {
  const server = await startServer({ hostname: "127.0.0.1", port: 0, log: quiet });
  try {
    const digits = syntheticDigits(5);
    const cases: Partial<LoadPlan>[] = [
      {},
      { garbage: true },
      { digits: "u8" },
      { protocol: "framed", digits: "u8", keepAlive: true },
      { protocol: "framed", digits: "float", keepAlive: false },
      { protocol: "framed", garbage: true, keepAlive: true },
      { protocol: "http", digits: "u8", httpPort: server.http!.addr.port },
      { protocol: "http", digits: "float", httpPort: server.http!.addr.port },
      { protocol: "http-binary", digits: "u8", httpPort: server.http!.addr.port },
      { protocol: "http-binary", digits: "float", httpPort: server.http!.addr.port },
    ];
    for (const overrides of cases) {
      const result = await new LoadRunner(plan(server.addr.port, overrides), digits).run();
      const label = JSON.stringify(overrides);
      assert.equal(result.count, 6, label);
      assert.deepEqual(result.errors, {}, label);
      assert.deepEqual(Array.from(result.status), new Array(6).fill(0), label);
      // OIP replies carry no server timings.
      const http = overrides.protocol === "http" || overrides.protocol === "http-binary";
      assert.ok(result.inferenceMs.every((ms) => (http ? Number.isNaN(ms) : ms > 0)), label);
      const framed = overrides.protocol === "framed";
      assert.ok(result.batchSize.every((b) => (framed ? b >= 1 : b === 0)), label);
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("a pool of Workers runs the clients and reports their CPU", async () => {
  const server = await startServer({ hostname: "127.0.0.1", port: 0, log: quiet });
  const pool = await LoadPool.create(2, syntheticDigits(5));
  try {
    const seen: number[] = [];
    const result = await pool.run({ ...plan(server.addr.port), clients: 5 }, (n) => seen.push(n));
    assert.equal(result.count, 10);
    assert.deepEqual(result.errors, {});
    assert.equal(result.workerCpuMs.length, 2);
    assert.equal(result.workers, 2);
    // Reused for a second run.
    const again = await pool.run({
      ...plan(server.addr.port),
      protocol: "framed",
      digits: "u8",
      keepAlive: true,
      clients: 2,
      requests: 5,
    });
    assert.equal(again.count, 10);
    assert.deepEqual(again.errors, {});
  } finally {
    pool.close();
    await server.shutdown();
  }
});

Deno.test("refused connections are counted by kind, not thrown", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await new LoadRunner(plan(port), syntheticDigits(2)).run();
  assert.equal(result.count, 6);
  assert.deepEqual(result.errors, { CONNECTION_REFUSED: 6 });
  assert.ok(result.status.every((s) => s === NO_REPLY));
});

Deno.test("a server that never answers is cut off as TIMEOUT, and the run ends", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const result = await new LoadRunner(
      plan(listener.addr.port, {
        protocol: "framed",
        digits: "u8",
        keepAlive: true,
        timeoutMs: 100,
      }),
      syntheticDigits(2),
    ).run();
    assert.equal(result.errors.TIMEOUT, 6);
  } finally {
    listener.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
  }
});

Deno.test("no request starts after the duration", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await new LoadRunner(
    plan(port, { durationMs: 0, requests: 1000 }),
    syntheticDigits(1),
  )
    .run();
  assert.ok(result.count <= 3, `${result.count} requests`);
});

Deno.test("error kinds are SCREAMING_SNAKE names of Deno's errors", () => {
  assert.equal(errorKind(new Deno.errors.ConnectionRefused("x")), "CONNECTION_REFUSED");
  assert.equal(errorKind(new Deno.errors.BrokenPipe("x")), "BROKEN_PIPE");
  assert.equal(errorKind("weird"), "ERROR");
});
