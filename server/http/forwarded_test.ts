// The HTTP client's address behind a trusted proxy, on a real server in
// process and through listener Workers: `X-Forwarded-For` names the fleet's
// `addr:` row (and so a canary's cohort and the logs) only from a
// `--trusted-proxy` peer, as a PROXY v2 header does on the board port.
import assert from "node:assert/strict";
import { AddressRanges } from "../auth/cidr.ts";
import { withServer } from "../testing/server.ts";
import { clientPeer } from "./forwarded.ts";

const digit = new Uint8Array(784);
const body = JSON.stringify({
  inputs: [{ name: "input", datatype: "UINT8", shape: [1, 784], data: [...digit] }],
});

Deno.test("clientPeer: the last X-Forwarded-For entry, from a trusted peer only, when it is an address", () => {
  const trusted = AddressRanges.parse("127.0.0.1/32") as AddressRanges;
  const proxy = { transport: "tcp" as const, hostname: "127.0.0.1", port: 5000 };
  const forwarded = (value: string) => new Headers({ "x-forwarded-for": value });
  assert.equal(clientPeer(proxy, forwarded("192.0.2.7"), trusted), "192.0.2.7:0");
  assert.equal(clientPeer(proxy, forwarded("10.9.9.9, 192.0.2.7"), trusted), "192.0.2.7:0");
  assert.equal(clientPeer(proxy, forwarded("2001:db8::7"), trusted), "[2001:db8::7]:0");
  for (const bad of ["", "192.0.2.7, ", "not an address", "192.0.2.7:80", "[2001:db8::7]"]) {
    assert.equal(clientPeer(proxy, forwarded(bad), trusted), "127.0.0.1:5000", bad);
  }
  assert.equal(clientPeer(proxy, new Headers(), trusted), "127.0.0.1:5000");
  assert.equal(clientPeer(proxy, forwarded("192.0.2.7"), null), "127.0.0.1:5000");
  const other = AddressRanges.parse("10.0.0.0/8") as AddressRanges;
  assert.equal(clientPeer(proxy, forwarded("192.0.2.7"), other), "127.0.0.1:5000");
});

Deno.test("a trusted proxy's X-Forwarded-For is the client's address in the fleet, in process and through Workers; an untrusted peer's is ignored", async () => {
  for (const listeners of [1, 2]) {
    for (const trusted of [true, false]) {
      const trustedProxies = trusted ? AddressRanges.parse("127.0.0.1/32") as AddressRanges : null;
      await withServer({ httpPort: 0, warmUpMs: 0, listeners, trustedProxies }, async (server) => {
        const response = await fetch(
          `http://127.0.0.1:${server.http!.addr.port}/v2/models/mnist/infer`,
          { method: "POST", body, headers: { "x-forwarded-for": "203.0.113.5, 192.0.2.7" } },
        );
        assert.equal(response.status, 200);
        await response.body?.cancel();
        const ids = server.monitor.fleet.list().map((row) => row.id);
        const expected = trusted ? "addr:192.0.2.7" : "addr:127.0.0.1";
        assert.deepEqual(ids, [expected], `listeners ${listeners}, trusted ${trusted}`);
      });
    }
  }
});
