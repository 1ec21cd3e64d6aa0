/**
 * The `uploads` scenario of `bench:limits`: on the HTTP port, `uploaders`
 * clients each declare a 4 MiB inference body, send 3 MiB of it and stall
 * (the body's deadline is 10 s here). It reports how many were refused for
 * the buffer budget (503) or cut at the deadline (400), a good inference's
 * status and time meanwhile, and the server's RSS idle and at its peak.
 *
 * @example
 * ```ts
 * import { stalledUploads } from "./_stalled_uploads.ts";
 * import { spawnScenarioServer } from "../server/testing/socket_scenarios.ts";
 *
 * const serve = (options: Record<string, number>) =>
 *   spawnScenarioServer(4096, Object.entries(options).map(([k, v]) => `${k}=${v}`));
 * if (Deno.args.includes("--run")) console.log(await stalledUploads(serve, 4));
 * ```
 * @module
 */
import type { ScenarioServer } from "../server/testing/socket_scenarios.ts";
import { writeAll } from "../server/write_all.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The status of the first answer on `conn` (then closes it), or "none" when it closed without one. */
async function statusOf(conn: Deno.Conn): Promise<string> {
  const bytes = new Uint8Array(256);
  let text = "";
  while (!text.includes("\r\n")) {
    const n = await conn.read(bytes).catch(() => null);
    if (n === null) break;
    text += new TextDecoder().decode(bytes.subarray(0, n));
  }
  conn.close();
  return text.split(" ")[1] ?? "none";
}

export async function stalledUploads(
  serverProcess: (options: Record<string, number>) => Promise<ScenarioServer>,
  uploaders: number,
): Promise<Record<string, number>> {
  const server = await serverProcess({ httpPort: 0, httpBodyTimeoutMs: 10_000 });
  await sleep(500);
  const idle = server.rssMB();
  const declared = 4 * 1024 * 1024;
  const head = new TextEncoder().encode(
    `POST /v2/models/mnist/infer HTTP/1.1\r\nhost: x\r\ncontent-length: ${declared}\r\n\r\n`,
  );
  const part = new Uint8Array(3 * 1024 * 1024).fill(0x20);
  let peak = idle;
  const sampler = setInterval(() => peak = Math.max(peak, server.rssMB()), 100);
  const answers = Array.from({ length: uploaders }, async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.httpPort! });
    await writeAll(conn, head);
    // A refused body is not read: the answer comes while the rest waits to be written.
    writeAll(conn, part).catch(() => {});
    return statusOf(conn);
  });
  await sleep(2000);
  const digit = { name: "input", datatype: "UINT8", shape: [1, 784], data: new Array(784).fill(0) };
  const started = performance.now();
  const good = await fetch(`http://127.0.0.1:${server.httpPort}/v2/models/mnist/infer`, {
    method: "POST",
    body: JSON.stringify({ inputs: [digit] }),
  });
  await good.body?.cancel();
  const goodMs = performance.now() - started;
  const statuses = await Promise.all(answers);
  clearInterval(sampler);
  await server.stop();
  const count = (status: string) => statuses.filter((s) => s === status).length;
  return {
    uploaders,
    busy: count("503"),
    cutAtDeadline: count("400"),
    other: uploaders - count("503") - count("400"),
    goodStatus: good.status,
    goodMs: Math.round(goodMs * 1000) / 1000,
    idleRssMB: Math.round(idle),
    peakRssMB: Math.round(peak),
  };
}
