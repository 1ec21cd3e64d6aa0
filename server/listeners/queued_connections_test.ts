// The setting read from a file of the same form as Linux's (`/proc/sys/...`
// holds "0\n" or "1\n"), and the warning at a start of listener Workers.
import assert from "node:assert/strict";
import { Logger } from "../log.ts";
import {
  QUEUED_CONNECTIONS_RESET,
  queuedConnectionsMove,
  warnUnlessQueuedConnectionsMove,
} from "./queued_connections.ts";

/** The warnings logged with the setting's file holding `text` (absent: no such file). */
async function warningsWith(text: string | null): Promise<Record<string, unknown>[]> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/tcp_migrate_req`;
    if (text !== null) await Deno.writeTextFile(path, text);
    const lines: Record<string, unknown>[] = [];
    warnUnlessQueuedConnectionsMove(
      new Logger("info", (line) => lines.push(JSON.parse(line)), "json"),
      path,
    );
    return lines;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("listener Workers warn that queued connections are reset only where the kernel says so", async () => {
  const off = await warningsWith("0\n");
  assert.deepEqual(off.map((line) => [line.level, line.msg, line.fix]), [
    ["warn", QUEUED_CONNECTIONS_RESET, "sysctl -w net.ipv4.tcp_migrate_req=1"],
  ]);
  assert.deepEqual(await warningsWith("1\n"), []);
  // Not Linux, or a kernel older than 5.14: nothing to say.
  assert.deepEqual(await warningsWith(null), []);
});

Deno.test("without permission to read the setting, or without the file, it is unknown, not an error", async () => {
  // A program run with no permission at all.
  const denied = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--no-config",
      `data:application/typescript,${
        encodeURIComponent(
          `import { queuedConnectionsMove } from "${new URL(
            "./queued_connections.ts",
            import.meta.url,
          )}"; console.log(queuedConnectionsMove());`,
        )
      }`,
    ],
    stdin: "null",
  }).output();
  assert.equal(new TextDecoder().decode(denied.stderr), "");
  assert.equal(new TextDecoder().decode(denied.stdout).trim(), "null");
  assert.equal(queuedConnectionsMove("/nonexistent/tcp_migrate_req"), null);
});
