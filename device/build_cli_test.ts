// `deno task build`'s --out and --release: a path it could not write is one
// sentence naming the flag and the path, exit 2, before anything is built or
// written; missing folders are made for both, as the README's first release
// (`--release firmware` in a fresh checkout) needs.
import assert from "node:assert/strict";
import { runBuild } from "./build_testing.ts";

/** Every path under `dir`, sorted. */
async function tree(dir: string): Promise<string[]> {
  const paths: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    paths.push(entry.name);
    if (entry.isDirectory) {
      paths.push(...(await tree(`${dir}/${entry.name}`)).map((p) => `${entry.name}/${p}`));
    }
  }
  return paths.sort();
}

Deno.test("--out or --release that cannot be written: one sentence naming it, exit 2, nothing written", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-build-cli-" });
  try {
    await Deno.writeTextFile(`${dir}/afile`, "x");
    await Deno.mkdir(`${dir}/folder`);
    const out = `${dir}/out/fw.js`;
    const refused: [string[], string][] = [
      [["--out", `${dir}/folder`], `--out ${dir}/folder is a folder: give the path of a file`],
      [
        ["--out", `${dir}/afile/x.js`],
        `--out ${dir}/afile/x.js: ${dir}/afile is a file, not a folder`,
      ],
      [
        ["--out", `${dir}/afile/deeper/x.js`],
        `--out ${dir}/afile/deeper/x.js: ${dir}/afile is a file, not a folder`,
      ],
      [
        ["--out", out, "--release", `${dir}/afile`],
        `--release ${dir}/afile is a file, not a folder`,
      ],
      [
        ["--out", out, "--release", `${dir}/afile/rel`],
        `--release ${dir}/afile/rel: ${dir}/afile is a file, not a folder`,
      ],
      [["--out", ""], "--out needs a path"],
      // The tests may write in /tmp only, as the task may write nowhere but where --allow-write says.
      [
        ["--out", "/var/mnist-nowhere/fw.js"],
        "--out /var/mnist-nowhere/fw.js: this command is not allowed to write there " +
        "(Deno's --allow-write)",
      ],
    ];
    for (const [flags, sentence] of refused) {
      const r = await runBuild(["--server", "1.2.3.4", ...flags]);
      assert.equal(r.code, 2, r.out.join("\n"));
      assert.deepEqual(r.out, [`build: ${sentence} (deno task build --help)`]);
    }
    // Nothing was written: no bundle, no release, no folder made.
    assert.deepEqual(await tree(dir), ["afile", "folder"]);
    assert.equal(await Deno.readTextFile(`${dir}/afile`), "x");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--out and --release make the folders they need", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-build-cli-" });
  try {
    const r = await runBuild([
      "--server",
      "1.2.3.4",
      "--out",
      `${dir}/a/b/fw.js`,
      "--release",
      `${dir}/c/releases`,
    ]);
    assert.equal(r.code, 0, r.out.join("\n"));
    assert.ok((await Deno.stat(`${dir}/a/b/fw.js`)).isFile);
    assert.match(r.out[1], new RegExp(`^release: ${dir}/c/releases/mnist-device/`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
