// Behind a real HAProxy with `send-proxy-v2`: the server sees each client's
// own address and port, not the proxy's.
import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { Status } from "../../shared/errors.ts";
import type { RequestEvent } from "../core/request.ts";
import { AddressRanges } from "../auth/cidr.ts";
import { splitFramed, withServer } from "../testing/server.ts";
import { writeAll } from "../write_all.ts";
import { requireTool } from "../testing/tools.ts";

const NO_HAPROXY = requireTool("haproxy", "haproxy");

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** One GET_STATS through the proxy on a new connection: its status and the client's own port. */
async function askThrough(port: number): Promise<{ status: number; localPort: number } | null> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(conn, encodeRequest({ command: Command.GET_STATS, requestId: 3 }, true));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    conn.close();
    if (!n) return null;
    return {
      status: splitFramed(buf.subarray(0, n)).replies[0].status,
      localPort: conn.localAddr.port,
    };
  } catch {
    return null;
  }
}

Deno.test({
  name: "behind HAProxy with send-proxy-v2, requests carry each client's own address and port",
  ignore: NO_HAPROXY,
  fn: async () => {
    const events: RequestEvent[] = [];
    const trusted = AddressRanges.parse("127.0.0.1");
    assert.ok(!(trusted instanceof Error));
    await withServer(
      { trustedProxies: trusted, onRequest: (e) => events.push(e) },
      async (server) => {
        const front = freePort();
        const dir = await Deno.makeTempDir();
        await Deno.writeTextFile(
          `${dir}/haproxy.cfg`,
          `global
  maxconn 100
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend board
  bind 127.0.0.1:${front}
  default_backend mnist
backend mnist
  server s1 127.0.0.1:${server.addr.port} send-proxy-v2
`,
        );
        const proxy = new Deno.Command("haproxy", {
          args: ["-f", `${dir}/haproxy.cfg`, "-db"],
          stdout: "null",
          stderr: "null",
        }).spawn();
        try {
          // HAProxy takes a moment to listen.
          let first = await askThrough(front);
          for (let i = 0; i < 50 && !first; i++) {
            await new Promise((r) => setTimeout(r, 100));
            first = await askThrough(front);
          }
          const second = await askThrough(front);
          assert.ok(first && second, "HAProxy forwarded the requests");
          assert.equal(first.status, Status.OK);
          assert.equal(second.status, Status.OK);
          assert.deepEqual(
            events.map((e) => e.peer),
            [`127.0.0.1:${first.localPort}`, `127.0.0.1:${second.localPort}`],
          );
        } finally {
          proxy.kill("SIGTERM");
          await proxy.status;
          await Deno.remove(dir, { recursive: true });
        }
      },
    );
  },
});
