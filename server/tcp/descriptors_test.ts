// Running out of file descriptors: a server whose process may open 256 files
// faces 400 clients (another process); it refuses or drops what it cannot
// serve, logs it once, and serves again as soon as they leave.
import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { Status } from "../../shared/errors.ts";
import { InferenceClient } from "../../client/client.ts";
import { spawnScenarioServer } from "../testing/socket_scenarios.ts";
import { ignorableTests, requireTool } from "../testing/tools.ts";

/** Tests whose crowd of clients is a Python process (its own file limit, not the server's). */
const python = ignorableTests(requireTool("python3", "python3"));

/**
 * Opens `count` connections from Python, each sending one GET_STATS frame,
 * and after 3 s says how each fared: answered and open (served), answered
 * and closed (refused), closed with nothing (dropped), or nothing yet (waiting).
 */
async function crowd(port: number, count: number): Promise<Record<string, number>> {
  const frame = Array.from(encodeRequest({ command: Command.GET_STATS, requestId: 1 }, true))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const script = `
import json, select, socket, time
frame = bytes.fromhex("${frame}")
socks, got, closed = [], {}, set()
for _ in range(${count}):
    s = socket.socket()
    s.connect(("127.0.0.1", ${port}))
    s.setblocking(False)
    try:
        s.send(frame)
    except OSError:
        pass
    socks.append(s)
    got[s] = 0
end = time.time() + 3
while time.time() < end:
    live = [s for s in socks if s not in closed]
    ready, _, _ = select.select(live, [], [], 0.1) if live else ([], [], [])
    for s in ready:
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if data:
            got[s] += len(data)
        else:
            closed.add(s)
out = {"served": 0, "refused": 0, "dropped": 0, "waiting": 0}
for s in socks:
    if s in closed:
        out["refused" if got[s] else "dropped"] += 1
    else:
        out["served" if got[s] else "waiting"] += 1
    s.close()
print(json.dumps(out))
`;
  const out = await new Deno.Command("python3", { args: ["-c", script], stdout: "piped" }).output();
  assert.equal(out.code, 0);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** A request once the crowd has gone (the server may take a moment to see every close). */
async function goodRequest(port: number): Promise<number> {
  let status = -1;
  for (let attempt = 0; attempt < 50 && status !== Status.OK; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
    try {
      const client = await InferenceClient.connect({ hostname: "127.0.0.1", port });
      status = (await client.infer({ digitU8: new Uint8Array(784) })).status;
      client.close();
    } catch {
      // Closed at once: the server is still at its cap.
    }
  }
  return status;
}

python.test("with the connection cap below the file limit, the excess is refused with a reply or closed, none hang", async () => {
  const server = await spawnScenarioServer(256, ["maxConnections=128"]);
  const seen = await crowd(server.port, 400);
  assert.equal(await goodRequest(server.port), Status.OK);
  const report = await server.stop();
  assert.equal(seen.waiting, 0, JSON.stringify(seen));
  assert.equal(seen.served, 128, JSON.stringify(seen));
  assert.ok(seen.refused >= 1, JSON.stringify(seen));
  assert.equal(report.errorLines, 0);
  assert.equal(report.maxConnections, 400 - seen.served);
});

python.test("out of descriptors all the same: the reserve closes waiting clients instead of leaving them hanging, logged once", async () => {
  const server = await spawnScenarioServer(256, ["maxConnections=100000"]);
  const seen = await crowd(server.port, 400);
  assert.equal(await goodRequest(server.port), Status.OK);
  const report = await server.stop();
  assert.equal(seen.waiting, 0, JSON.stringify(seen));
  assert.ok(seen.dropped > 0 && seen.served > 0, JSON.stringify(seen));
  assert.ok(report.fdReserve > 0, JSON.stringify(report));
  assert.ok(report.fdReserve >= seen.dropped, "each dropped client was closed with the reserve");
  assert.equal(report.errorLines, 1, "one line per interval, not one per attempt");
});
