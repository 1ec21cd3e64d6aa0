import assert from "node:assert/strict";
import {
  cpuDelta,
  currentThreadNs,
  groupThreads,
  processCpuMs,
  threadCpu,
  workerThreads,
} from "./cpu.ts";

Deno.test("cpuDelta subtracts per thread and counts new threads from zero", () => {
  const before = [{ tid: 1, name: "deno", ns: 100 }, { tid: 2, name: "worker-1", ns: 50 }];
  const after = [
    { tid: 1, name: "deno", ns: 250 },
    { tid: 2, name: "worker-1", ns: 80 },
    { tid: 3, name: "worker-2", ns: 10 },
  ];
  const delta = cpuDelta(before, after);
  assert.deepEqual(delta.map((t) => t.ns), [150, 30, 10]);
  assert.deepEqual(workerThreads(delta), { "worker-1": 30, "worker-2": 10 });
});

Deno.test("groupThreads sorts threads into main, workers, V8 helpers and other", () => {
  const groups = groupThreads([
    { tid: 10, name: "deno", ns: 5 },
    { tid: 11, name: "V8 DefaultWorke", ns: 2 },
    { tid: 12, name: "worker-1", ns: 7 },
    { tid: 13, name: "tokio-runtime-w", ns: 1 },
    { tid: 14, name: "deno", ns: 3 },
  ], 10);
  assert.deepEqual(groups, { main: 5, workers: 7, listeners: 0, v8: 2, other: 4 });
  // With two listener Workers, started first: worker-1 and worker-2 are they.
  const withListeners = groupThreads(
    [
      { tid: 10, name: "deno", ns: 5 },
      { tid: 12, name: "worker-1", ns: 7 },
      { tid: 15, name: "worker-2", ns: 6 },
      { tid: 16, name: "worker-3", ns: 9 },
    ],
    10,
    2,
  );
  assert.deepEqual(withListeners, { main: 5, workers: 9, listeners: 13, v8: 0, other: 0 });
});

Deno.test("processCpuMs grows as this process works", () => {
  const before = processCpuMs();
  let x = 0;
  for (let i = 0; i < 3e7; i++) x += i;
  assert.ok(x > 0 && processCpuMs() > before);
});

Deno.test({
  // Deno reads /proc/<pid> only with --allow-all, which `deno task test` does not grant.
  name: "this process's threads are listed, the main thread among them (Linux, --allow-all)",
  ignore: threadCpu("self").length === 0,
  fn() {
    const threads = threadCpu("self");
    assert.ok(threads.some((t) => t.tid === Deno.pid && t.ns > 0));
    assert.ok((currentThreadNs() ?? 0) > 0);
    assert.deepEqual(threadCpu(2 ** 30), []);
  },
});
