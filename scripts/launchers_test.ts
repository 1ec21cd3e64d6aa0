// Every way the project starts the server passes what the server needs of
// Deno: the engine's V8 flags (`ENGINE_V8_FLAGS`) and `--unstable-net`
// (`--listeners N` needs it; a launcher without it refuses the flag).
// `deno compile` also embeds both Workers, which start by URL.
import assert from "node:assert/strict";
import { ENGINE_V8_FLAGS_ARG } from "../server/engine/ort_wasm.ts";
import { VENDOR_SERVE } from "./vendor.ts";

const ROOT = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, ROOT));

/** Each `deno compile` command of a document, its continued lines joined. */
function compileCommands(text: string): string[] {
  return text.replaceAll("\\\n", " ").split("\n").filter((line) =>
    line.startsWith("deno compile ")
  );
}

Deno.test("every launcher of the server passes the engine's V8 flags and --unstable-net", async () => {
  const tasks = JSON.parse(await read("deno.json")).tasks;
  const launchers: [string, string][] = [
    ["deno task serve", tasks.serve.command],
    ["deno task serve:native", tasks["serve:native"].command],
    ["the systemd unit", await read("deploy/mnist-server.service")],
    ["vendor/serve", VENDOR_SERVE.replaceAll("\\\n", " ")],
  ];
  for (const [name, text] of launchers) {
    const start = text.split("\n").find((line) =>
      /(^ExecStart=|^deno run|bin\/deno" run)/.test(line)
    )!;
    assert.ok(start.includes(` ${ENGINE_V8_FLAGS_ARG} `), `${name}: ${start}`);
    assert.ok(start.includes(" --unstable-net "), `${name}: ${start}`);
  }
});

Deno.test("every command in the docs that runs the server passes the same flags", async () => {
  const serve = JSON.parse(await read("deno.json")).tasks.serve.command as string;
  const flags = serve.split(" ").filter((word) => word.startsWith("--"));
  let found = 0;
  for (const doc of ["README.md", "docs/operations.md", "docs/performance.md", "bench/README.md"]) {
    for (const [command] of (await read(doc)).matchAll(/deno run [^`\n]*server\/main\.ts/g)) {
      found++;
      const all = command.includes(" -A ");
      for (const flag of flags) {
        if (all && flag.startsWith("--allow-")) continue;
        assert.ok(command.includes(` ${flag} `), `${doc}: ${flag} missing from: ${command}`);
      }
    }
  }
  assert.ok(found >= 2, "the offline and the profiling command");
});

Deno.test("the one-binary commands of docs/operations.md bake in the same flags and embed both Workers", async () => {
  const commands = compileCommands(await read("docs/operations.md"));
  assert.equal(commands.length, 2, "the x86-64 and the ARM64 command");
  for (const command of commands) {
    for (
      const part of [
        ` ${ENGINE_V8_FLAGS_ARG} `,
        " --unstable-net ",
        " --include server/engine/worker.ts ",
        " --include server/listeners/listener_worker.ts ",
      ]
    ) {
      assert.ok(command.includes(part), `${part.trim()} missing from: ${command}`);
    }
  }
});
