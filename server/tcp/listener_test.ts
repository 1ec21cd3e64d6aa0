// The accept loop: clients that reset before they are accepted do not stall
// it; real server on loopback, real resets (SO_LINGER 0) from Python.
import assert from "node:assert/strict";
import { Status } from "../../shared/errors.ts";
import { InferenceClient } from "../../client/client.ts";
import { address, recordingLogger, sh, withServer } from "../testing/server.ts";
import { ignorableTests, requireTool } from "../testing/tools.ts";

/** Tests whose resets come from Python, which can set SO_LINGER 0. */
const python = ignorableTests(requireTool("python3", "python3"));

/** Opens `count` connections to `port` and resets each at once (SO_LINGER 0), in a Python process. */
async function connectAndReset(port: number, count: number): Promise<void> {
  const script = `
import socket, struct
for _ in range(${count}):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.connect(("127.0.0.1", ${port}))
    s.close()
`;
  const out = await sh(`python3 -c '${script}'`);
  assert.equal(out.code, 0, out.stderr);
}

python.test("clients that reset before accept are skipped: the next request is answered and nothing is logged as an error", async () => {
  const { log, lines } = recordingLogger("info");
  await withServer({ log }, async (server) => {
    await connectAndReset(server.addr.port, 300);
    const client = await InferenceClient.connect(address(server));
    const reply = await client.infer({ digitU8: new Uint8Array(784) });
    client.close();
    assert.equal(reply.status, Status.OK);
  });
  const errors = lines.filter((line) => / ERROR /.test(line));
  assert.deepEqual(errors, []);
});
