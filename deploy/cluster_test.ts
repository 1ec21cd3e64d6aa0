// Scale-out with the real HAProxy (Debian's haproxy; .ci/run installs it):
// two servers behind it, 500 legacy and 100 framed clients running, then
// one server is killed (SIGKILL) or restarted the proper way (SIGTERM,
// drained). Also: the shipped configuration is what haproxy_config.ts
// writes and HAProxy accepts it. (The systemd unit is checked where the
// vendored copy it starts from is: scripts/vendor_test.ts.)
import assert from "node:assert/strict";
import { churn, type ChurnRecord } from "./_churn.ts";
import { type Cluster, startCluster } from "./cluster.ts";
import { EXAMPLE, renderHaproxyConfig } from "./haproxy_config.ts";
import { requireTool } from "../server/testing/tools.ts";

const HERE = new URL("./", import.meta.url);
const NO_HAPROXY = requireTool("haproxy", "haproxy");

Deno.test("deploy/haproxy.cfg is what haproxy_config.ts writes for its example", async () => {
  const shipped = await Deno.readTextFile(new URL("haproxy.cfg", HERE));
  assert.equal(shipped.trimEnd(), renderHaproxyConfig(EXAMPLE).trimEnd());
  // A minute past the servers' 15-minute idle timeout; a body's 30 s, as theirs.
  assert.match(shipped, /timeout client 960s/);
  assert.match(shipped, /timeout http-request 30s/);
  assert.match(
    renderHaproxyConfig({ ...EXAMPLE, idleTimeoutMs: 60_000, bodyTimeoutMs: 5_000 }),
    /timeout client 120s[^]*timeout http-request 5s/,
  );
  assert.match(shipped, /send-proxy-v2 check .* port 8011/);
});

Deno.test({
  name: "HAProxy accepts deploy/haproxy.cfg",
  ignore: NO_HAPROXY,
  fn: async () => {
    const path = new URL("haproxy.cfg", HERE).pathname;
    const { success, stderr } = await new Deno.Command("haproxy", { args: ["-c", "-f", path] })
      .output();
    assert.ok(success, new TextDecoder().decode(stderr));
    // The check can fail: a broken copy is refused.
    const broken = await Deno.makeTempFile({ dir: "/tmp", suffix: ".cfg" });
    try {
      await Deno.writeTextFile(
        broken,
        (await Deno.readTextFile(path)).replace("mode tcp", "mode tpc"),
      );
      const bad = await new Deno.Command("haproxy", { args: ["-c", "-f", broken] }).output();
      assert.ok(!bad.success);
    } finally {
      await Deno.remove(broken);
    }
  },
});

const CHECK_MS = 500;
/** Two failed checks mark a server down; a second of margin for a busy machine. */
const DETECT_MS = 2 * CHECK_MS + 1_000;

async function withCluster(drainSeconds: number, fn: (c: Cluster) => Promise<void>) {
  const cluster = await startCluster({
    replicas: 2,
    port: 0,
    httpPort: 0,
    host: "127.0.0.1",
    checkIntervalMs: CHECK_MS,
    drainSeconds,
    serverArgs: ["--instances", "1"],
  });
  try {
    await fn(cluster);
  } finally {
    await cluster.stop();
  }
}

function summary(record: ChurnRecord): string {
  const reasons: Record<string, number> = {};
  for (const f of record.failures) {
    reasons[`${f.protocol}: ${f.reason}`] = (reasons[`${f.protocol}: ${f.reason}`] ?? 0) + 1;
  }
  return `ok=${record.ok} resent=${record.resent} failures=${record.failures.length} ${
    JSON.stringify(reasons)
  }`;
}

Deno.test({
  name:
    "SIGKILL one of two servers under 500 legacy + 100 framed clients: only in-flight requests fail",
  ignore: NO_HAPROXY,
  fn: async () => {
    await withCluster(0, async (cluster) => {
      const killAt = 3_000;
      let killed = false;
      const victim = cluster.servers[0];
      const record = await churn({ hostname: "127.0.0.1", port: cluster.boardPort }, {
        legacy: 500,
        framed: 100,
        durationMs: killAt + DETECT_MS + 3_000,
        timeoutMs: 10_000,
        onTick: (ms) => {
          if (!killed && ms >= killAt) {
            killed = true;
            Deno.kill(victim.pid, "SIGKILL");
          }
        },
      });
      console.log(summary(record));
      assert.ok(killed);
      // Nothing failed before the kill, and nothing that started after HAProxy's checks noticed it.
      for (const f of record.failures) {
        assert.ok(f.endMs >= killAt, `failed before the kill: ${JSON.stringify(f)}`);
        assert.ok(f.startMs < killAt + DETECT_MS, `failed after detection: ${JSON.stringify(f)}`);
      }
      // At most the clients' one request each in flight at the kill failed.
      assert.ok(record.failures.length <= 600, summary(record));
      // The survivor served the load after detection.
      const after = record.okStarts.filter((s) => s >= killAt + DETECT_MS).length;
      assert.ok(after >= 300, `only ${after} requests served after detection`);
      const states = await cluster.serverStates();
      assert.equal(states["board_servers/s1"], "DOWN");
      assert.equal(states["board_servers/s2"], "UP");
    });
  },
});

Deno.test({
  name: "SIGTERM (drain) one of two servers under 500 legacy + 100 framed clients: no failures",
  ignore: NO_HAPROXY,
  fn: async () => {
    // Drain for longer than HAProxy takes to notice readiness 503.
    await withCluster(Math.ceil(DETECT_MS / 1000) + 1, async (cluster) => {
      const stopAt = 3_000;
      let stopping: Promise<number> | null = null;
      const victim = cluster.servers[0];
      const record = await churn({ hostname: "127.0.0.1", port: cluster.boardPort }, {
        legacy: 500,
        framed: 100,
        durationMs: stopAt + DETECT_MS + 4_000,
        timeoutMs: 10_000,
        onTick: (ms) => {
          if (!stopping && ms >= stopAt) stopping = victim.stop(30_000);
        },
      });
      console.log(summary(record));
      assert.ok(stopping);
      assert.equal(await stopping, 0, "the drained server exits 0");
      assert.equal(victim.killed, false);
      assert.deepEqual(record.failures, [], summary(record));
      const after = record.okStarts.filter((s) => s >= stopAt + DETECT_MS).length;
      assert.ok(after >= 300, `only ${after} requests served after the drain`);
    });
  },
});

Deno.test({
  name:
    "through HAProxy, an HTTP client is the address HAProxy saw (X-Forwarded-For), not one it names itself",
  ignore: NO_HAPROXY,
  fn: async () => {
    await withCluster(0, async (cluster) => {
      const response = await fetch(`http://127.0.0.1:${cluster.httpPort}/v2/models/mnist/infer`, {
        method: "POST",
        // A client's own header: HAProxy appends the address it saw after it.
        headers: { "x-forwarded-for": "198.51.100.66" },
        body: JSON.stringify({
          inputs: [{ name: "input", datatype: "UINT8", shape: [1, 784], data: Array(784).fill(0) }],
        }),
      });
      assert.equal(response.status, 200);
      await response.body?.cancel();
      const ids: string[] = [];
      for (const server of cluster.servers) {
        const fleet = await fetch(`http://127.0.0.1:${server.httpPort}/v2/fleet/devices`);
        const { devices } = await fleet.json();
        ids.push(...devices.map((d: { id: string }) => d.id));
      }
      assert.deepEqual(ids, ["addr:127.0.0.1"]);
    });
  },
});
