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

/** The npm packages (`name@version`) of a lock, and what each depends on, by name. */
async function lockPackages(path: string): Promise<Map<string, string[]>> {
  const lock = JSON.parse(await read(path));
  return new Map(
    Object.entries(lock.npm as Record<string, { dependencies?: string[] }>).map((
      [key, entry],
    ) => [key, entry.dependencies ?? []]),
  );
}

const nameOf = (key: string) => key.slice(0, key.lastIndexOf("@"));

Deno.test("the project's lock holds only what serving loads; the tools' packages live in tools/", async () => {
  // Deno fetches every package of the project's lock on first use (`deno task` before any task),
  // so one tool's package there is downloaded by every first `deno task serve`.
  const reached = new Set<string>();
  for (
    const entry of [
      "server/main.ts",
      "server/engine/worker.ts",
      "server/listeners/listener_worker.ts",
    ]
  ) {
    const { stdout, success } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: ROOT,
      stderr: "null",
    }).output();
    assert.ok(success, `deno info ${entry}`);
    for (const module of JSON.parse(new TextDecoder().decode(stdout)).modules) {
      const match = /^npm:\/?((?:@[^/]+\/)?[^@/]+)@/.exec(module.specifier);
      if (match) reached.add(match[1]);
    }
  }
  assert.deepEqual([...reached].sort(), ["onnxruntime-web", "prom-client"]);
  // Serving's packages and what they depend on, by name, down to the leaves.
  const project = await lockPackages("deno.lock");
  const needed = new Set<string>();
  const add = (name: string) => {
    if (needed.has(name)) return;
    needed.add(name);
    for (const [key, deps] of project) if (nameOf(key) === name) deps.forEach(add);
  };
  reached.forEach(add);
  // Type declarations Deno's checker reads for `node:` imports; fetched, never loaded.
  ["@types/node", "undici-types"].forEach(add);
  for (const key of project.keys()) {
    assert.ok(needed.has(nameOf(key)), `${key} is in deno.lock but serving never loads it`);
  }
  const tools = await lockPackages("tools/deno.lock");
  for (const name of ["esbuild", "acorn", "mnist"]) {
    assert.ok([...tools.keys()].some((key) => nameOf(key) === name), `${name} in tools/deno.lock`);
  }
});
