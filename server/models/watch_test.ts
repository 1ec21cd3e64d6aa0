// Reload triggers on a real temp folder: real inotify events, a real timer,
// a real SIGHUP sent to this process.
import assert from "node:assert/strict";
import { RepositoryWatcher, type RescanReason } from "./watch.ts";
import { Logger } from "../log.ts";
import { until } from "../testing/until.ts";

async function tempRoot(): Promise<string> {
  return await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-watch-" });
}

Deno.test("a burst of file changes under the repository becomes fewer rescans", async () => {
  const root = await tempRoot();
  const reasons: RescanReason[] = [];
  const watcher = RepositoryWatcher.start({
    root,
    debounceMs: 200,
    sighup: false,
    rescan: (reason) => void reasons.push(reason),
  });
  try {
    assert.equal(watcher.watching, true);
    assert.equal(watcher.polling, false);
    await Deno.mkdir(`${root}/mnist/2`, { recursive: true });
    for (let i = 0; i < 20; i++) await Deno.writeTextFile(`${root}/mnist/2/part${i}`, "x");
    await until(() => reasons.length > 0, "a change seen");
    // Let a trailing debounce fire, if one is pending.
    await new Promise((r) => setTimeout(r, 400));
    assert.ok(reasons.every((r) => r === "watch"));
    assert.ok(reasons.length < 20, `${reasons.length} rescans for 20 writes`);
  } finally {
    watcher.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("--poll-seconds rescans on a timer without watching", async () => {
  const root = await tempRoot();
  const reasons: RescanReason[] = [];
  const watcher = RepositoryWatcher.start({
    root,
    watch: false,
    sighup: false,
    pollSeconds: 0.02,
    rescan: (reason) => void reasons.push(reason),
  });
  try {
    assert.equal(watcher.watching, false);
    await until(() => reasons.length >= 2, "two rescans (polling)");
    assert.deepEqual(reasons.slice(0, 2), ["poll", "poll"]);
  } finally {
    watcher.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a folder that cannot be watched falls back to polling, and says so", () => {
  const lines: string[] = [];
  const watcher = RepositoryWatcher.start({
    root: "/nonexistent/models",
    sighup: false,
    rescan: () => {},
    log: new Logger("warn", (line) => lines.push(line)),
  });
  try {
    assert.equal(watcher.watching, false);
    assert.equal(watcher.polling, true);
    assert.match(lines.join("\n"), /cannot watch the model repository; polling it instead/);
  } finally {
    watcher.close();
  }
});

Deno.test("SIGHUP asks for a rescan", async () => {
  const root = await tempRoot();
  const reasons: RescanReason[] = [];
  const watcher = RepositoryWatcher.start({
    root,
    watch: false,
    rescan: (reason) => void reasons.push(reason),
  });
  try {
    Deno.kill(Deno.pid, "SIGHUP");
    await until(() => reasons.length > 0, "a rescan on SIGHUP");
    assert.deepEqual(reasons, ["sighup"]);
  } finally {
    watcher.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("rescans never overlap; triggers during one fold into one more run", async () => {
  let running = 0;
  let most = 0;
  let runs = 0;
  let release!: () => void;
  let gate = new Promise<void>((r) => release = r);
  const watcher = RepositoryWatcher.start({
    root: "/tmp",
    watch: false,
    sighup: false,
    rescan: async () => {
      runs++;
      most = Math.max(most, ++running);
      await gate;
      running--;
    },
  });
  try {
    const first = watcher.trigger("request");
    await until(() => runs === 1, "one reload run");
    const queued = [watcher.trigger("request"), watcher.trigger("sighup"), watcher.trigger("poll")];
    assert.equal(new Set(queued).size, 1);
    const opened = gate;
    gate = Promise.resolve();
    release();
    await opened;
    await Promise.all([first, ...queued]);
    assert.equal(runs, 2);
    assert.equal(most, 1);
  } finally {
    watcher.close();
  }
});

Deno.test("a failing rescan is logged and the next trigger still runs", async () => {
  const lines: string[] = [];
  let runs = 0;
  const watcher = RepositoryWatcher.start({
    root: "/tmp",
    watch: false,
    sighup: false,
    rescan: () => {
      if (++runs === 1) throw new Error("disk on fire");
    },
    log: new Logger("error", (line) => lines.push(line)),
  });
  try {
    await watcher.trigger("request");
    await watcher.trigger("request");
    assert.equal(runs, 2);
    assert.match(lines.join("\n"), /model repository rescan failed.*disk on fire/);
  } finally {
    watcher.close();
  }
});

Deno.test("a repository folder removed while watched is polled from then on", async () => {
  const root = await tempRoot();
  const lines: string[] = [];
  const reasons: RescanReason[] = [];
  const watcher = RepositoryWatcher.start({
    root,
    debounceMs: 50,
    sighup: false,
    rescan: (reason) => void reasons.push(reason),
    log: new Logger("warn", (line) => lines.push(line)),
  });
  try {
    assert.equal(watcher.watching, true);
    await Deno.remove(root, { recursive: true });
    await until(() => watcher.polling, "the watcher polling");
    assert.equal(watcher.watching, false);
    assert.match(lines.join("\n"), /polling it instead .*the repository folder was removed/);
  } finally {
    watcher.close();
  }
});
