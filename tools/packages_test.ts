import assert from "node:assert/strict";

/** A copy of tools/ without its node_modules, as a fresh clone has it. */
async function freshTools(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tools_" });
  for (const name of ["deno.json", "deno.lock", "packages.ts"]) {
    await Deno.copyFile(new URL(name, import.meta.url), `${dir}/${name}`);
  }
  await Deno.writeTextFile(
    `${dir}/probe.ts`,
    `import { loadAcorn, ToolPackageError } from "./packages.ts";
const acorn = loadAcorn();
console.log(acorn instanceof ToolPackageError ? acorn.message : typeof acorn.parse);
`,
  );
  return dir;
}

async function probe(dir: string, run: boolean): Promise<string> {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--allow-read",
      "--allow-env",
      ...(run ? ["--allow-run"] : []),
      `${dir}/probe.ts`,
    ],
    stderr: "null",
  }).output();
  return new TextDecoder().decode(stdout).trim();
}

Deno.test("a program that may run Deno installs the tools' packages the first time it needs one", async () => {
  const dir = await freshTools();
  try {
    assert.equal(await probe(dir, true), "function");
    assert.ok((await Deno.stat(`${dir}/node_modules/acorn`)).isDirectory);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without leave to run Deno, the tools say to run deno task install:tools", async () => {
  const dir = await freshTools();
  try {
    assert.match(await probe(dir, false), /run 'deno task install:tools' once/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
