import assert from "node:assert/strict";
import { Logger } from "../log.ts";
import { ServerMetrics } from "../metrics/metrics.ts";
import { Monitor } from "./monitor.ts";
import type { RequestRecord } from "./request_record.ts";
import { Status } from "../../shared/errors.ts";

function event(over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    protocol: "framed",
    inference: true,
    status: Status.OK,
    digits: 1,
    durationMs: 0.5,
    queueMs: 0.1,
    computeMs: 0.2,
    model: "mnist",
    version: 1,
    bytesIn: 800,
    bytesOut: 92,
    peer: "127.0.0.1:40000",
    ...over,
  };
}

Deno.test("refused requests are logged at info, a few a second, then one 'suppressed N' line", async () => {
  const lines: string[] = [];
  const monitor = new Monitor({
    log: new Logger("info", (line) => lines.push(line)),
    metrics: new ServerMetrics({ model: "mnist", version: "1" }),
    maxLinesPerSecond: 3,
  });
  try {
    // Start at the beginning of a second so all 20 fall within it.
    await new Promise((r) => setTimeout(r, 1000 - (performance.now() % 1000) + 5));
    for (let i = 0; i < 20; i++) {
      monitor.request(event({ status: Status.SERVER_BUSY, digits: 0, error: "queue full", id: i }));
    }
    assert.equal(lines.length, 3);
    assert.match(
      lines[0],
      /INFO request failed protocol=framed peer=127\.0\.0\.1:40000 id=0 code=SERVER_BUSY error="queue full"/,
    );
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(lines.length, 4);
    assert.match(lines[3], /INFO suppressed 17 refused or failed request lines/);
    const snapshot = monitor.snapshot();
    assert.deepEqual(snapshot.errorsTotal, { SERVER_BUSY: 20 });
    assert.equal(snapshot.devices[0].errors, 20);
  } finally {
    monitor.close();
  }
});

Deno.test("one summary line per period while requests flow, none when idle", async () => {
  // Start at the beginning of a second so all the requests fall within it.
  await new Promise((r) => setTimeout(r, 1000 - (performance.now() % 1000) + 5));
  const lines: string[] = [];
  const monitor = new Monitor({
    log: new Logger("info", (line) => lines.push(line), "json"),
    metrics: new ServerMetrics({ model: "mnist", version: "1" }),
    summaryEverySeconds: 1,
    sources: { connections: () => ({ tcp: 2 }), queueDepth: () => 0 },
  });
  try {
    for (let i = 0; i < 10; i++) monitor.request(event({ durationMs: 2 }));
    monitor.request(event({ status: Status.BAD_DIGIT_LENGTH, digits: 0 }));
    monitor.run("mnist", 1, 10, 0.5);
    await new Promise((r) => setTimeout(r, 1100));
    const summaries = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "traffic");
    assert.equal(summaries.length, 1, lines.join("\n"));
    const s = summaries[0];
    assert.equal(s.level, "info");
    assert.equal(s.req_s, "11.0");
    assert.ok(Math.abs(Number(s.p50_ms) - 2) < 0.05);
    assert.equal(s.errors, "BAD_DIGIT_LENGTH:1");
    assert.equal(s.connections, 2);
    assert.equal(s.mean_batch, "10.0");
    await new Promise((r) => setTimeout(r, 2100)); // the window empties: no more lines
    const after = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "traffic");
    assert.ok(after.length <= 2, "at most the line for the last second with traffic");
  } finally {
    monitor.close();
  }
});

Deno.test("during the server's warm-up nothing reported is counted, logged or kept, late replies included; after it, all is", async () => {
  const lines: string[] = [];
  const monitor = new Monitor({
    log: new Logger("info", (line) => lines.push(line)),
    metrics: new ServerMetrics({ model: "mnist", version: "1" }),
  });
  try {
    assert.equal(monitor.fromWarmUp(1_000), false, "no warm-up ran: everything counts");
    monitor.warmUpStarted();
    const began = performance.now();
    assert.equal(monitor.quiet, true);
    monitor.request(
      event({ samples: [{ digitU8: new Uint8Array(784), digit: null, predicted: 3, score: 0.9 }] }),
    );
    monitor.request(event({ status: Status.SERVER_BUSY, digits: 0, error: "queue full" }));
    monitor.run("mnist", 1, 1, 0.2);
    await new Promise((r) => setTimeout(r, 5));
    monitor.warmUpEnded();
    assert.equal(monitor.quiet, false);
    await new Promise((r) => setTimeout(r, 5));
    // The engine answers only now: the request and its run began during the warm-up.
    const late = performance.now() - began;
    assert.equal(monitor.fromWarmUp(late), true);
    monitor.request(event({ durationMs: late }));
    monitor.run("mnist", 1, 1, late);
    const empty = monitor.snapshot();
    assert.equal(empty.requestsTotal, 0);
    assert.deepEqual(empty.errorsTotal, {});
    assert.equal(empty.devicesSeen, 0);
    assert.equal(empty.digits.length, 0);
    assert.equal(lines.length, 0, "the refusal was not logged");
    assert.doesNotMatch(
      await monitor.metrics.expose(),
      /nv_inference_(count|exec_count)\{[^}]*\} [1-9]/,
    );
    // Begun after the warm-up ended.
    assert.equal(monitor.fromWarmUp(0), false);
    monitor.request(event({ durationMs: 0 }));
    monitor.run("mnist", 1, 1, 0);
    assert.equal(monitor.snapshot().requestsTotal, 1);
    assert.match(await monitor.metrics.expose(), /nv_inference_exec_count\{[^}]*\} 1/);
  } finally {
    monitor.close();
  }
});
