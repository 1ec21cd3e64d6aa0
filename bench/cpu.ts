/**
 * CPU time per thread, from Linux's `/proc/<pid>/task/<tid>/schedstat`
 * (nanoseconds on CPU), so a load test can say whether the load generator,
 * the server's event loop or its inference Worker was busy. Deno lets a
 * program read `/proc/<pid>` only with `--allow-all`; without it (or off
 * Linux) the functions return empty results and the figures are left out.
 * `processCpuMs` (getrusage, through `node:process`) needs no permission.
 *
 * @example
 * ```ts
 * import { cpuDelta, groupThreads, threadCpu } from "./cpu.ts";
 *
 * const before = threadCpu("self");
 * for (let i = 0, x = 0; i < 1e7; i++) x += i;
 * const used = cpuDelta(before, threadCpu("self"));
 * console.log(groupThreads(used, Deno.pid)); // { main: 9000000, ... } in ns
 * ```
 * @module
 */

import process from "node:process";

/** CPU time of one thread. */
export interface ThreadCpu {
  tid: number;
  /** The thread's name (`comm`): "deno" for the main thread, "worker-1" for a Worker, ... */
  name: string;
  /** Nanoseconds spent on a CPU. */
  ns: number;
}

function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** Every thread of a process (`"self"` for this one) and its CPU time so far; [] when unknown. */
export function threadCpu(pid: number | "self"): ThreadCpu[] {
  const dir = `/proc/${pid}/task`;
  const out: ThreadCpu[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync(dir);
  } catch {
    return out;
  }
  for (const entry of entries) {
    const stat = readText(`${dir}/${entry.name}/schedstat`);
    if (stat === null) continue; // The thread ended meanwhile.
    out.push({
      tid: Number(entry.name),
      name: (readText(`${dir}/${entry.name}/comm`) ?? "?").trim(),
      ns: Number(stat.split(" ")[0]),
    });
  }
  return out;
}

/** CPU time of the calling thread (main thread or Worker) in ns, or null when unknown. */
export function currentThreadNs(): number | null {
  const stat = readText("/proc/thread-self/schedstat");
  return stat === null ? null : Number(stat.split(" ")[0]);
}

/** User plus system CPU time of this whole process (every thread), in ms. */
export function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** CPU used by each thread between two snapshots (threads started meanwhile count from 0). */
export function cpuDelta(before: ThreadCpu[], after: ThreadCpu[]): ThreadCpu[] {
  const start = new Map(before.map((t) => [t.tid, t.ns]));
  return after.map((t) => ({ ...t, ns: t.ns - (start.get(t.tid) ?? 0) }));
}

/** Threads grouped by role, ns each. */
export interface ThreadGroups {
  /** The main thread: the event loop that reads and writes sockets. */
  main: number;
  /** Deno Workers ("worker-N"): the inference engine and onnxruntime's WASM threads, or load workers. */
  workers: number;
  /** The server's listener Workers (`--listeners N`: the first N Workers it starts). */
  listeners: number;
  /** V8's helper threads: garbage collection and compilation. */
  v8: number;
  /** Everything else (tokio's blocking pool, ...). */
  other: number;
}

/**
 * Sums a delta by role; `pid` names the main thread. `listeners`: the server
 * started that many listener Workers before its engines, so `worker-1` to
 * `worker-N` are they.
 */
export function groupThreads(delta: ThreadCpu[], pid: number, listeners = 0): ThreadGroups {
  const groups: ThreadGroups = { main: 0, workers: 0, listeners: 0, v8: 0, other: 0 };
  for (const t of delta) {
    if (t.tid === pid) groups.main += t.ns;
    else if (t.name.startsWith("worker-") && Number(t.name.slice(7)) <= listeners) {
      groups.listeners += t.ns;
    } else if (t.name.startsWith("worker-")) groups.workers += t.ns;
    else if (t.name.startsWith("V8 ")) groups.v8 += t.ns;
    else groups.other += t.ns;
  }
  return groups;
}

/** Each Worker thread's share, by name, ns each (e.g. { "worker-1": 9e8, "worker-2": 3e8 }). */
export function workerThreads(delta: ThreadCpu[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of delta) {
    if (t.name.startsWith("worker-")) out[t.name] = (out[t.name] ?? 0) + t.ns;
  }
  return out;
}
