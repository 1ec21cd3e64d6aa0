import assert from "node:assert/strict";
import {
  checkOutputPath,
  nearestFlag,
  parseFlags,
  parseHostPort,
  UsageError,
  usageLine,
} from "./args.ts";

const OPTIONS = {
  server: { type: "string" },
  port: { type: "string" },
  "max-batch": { type: "string" },
  "max-connections-per-address": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The sentence `parseFlags` gives `args`, or "" when they parse. */
function mistake(args: string[], allowPositionals = false): string {
  try {
    parseFlags({ args, options: OPTIONS, allowPositionals });
    return "";
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    return e.message;
  }
}

Deno.test("a near flag is named: typos, swapped letters, a missing letter, a unique start", () => {
  assert.equal(mistake(["--sever", "x"]), "unknown flag --sever; did you mean --server?");
  assert.equal(mistake(["--prot", "1"]), "unknown flag --prot; did you mean --port?");
  assert.equal(mistake(["--max-bach=3"]), "unknown flag --max-bach; did you mean --max-batch?");
  assert.equal(
    mistake(["--max-connections-per"]),
    "unknown flag --max-connections-per; did you mean --max-connections-per-address?",
  );
  assert.equal(nearestFlag("--jsno", ["--json", "--help", "-h"]), "--json");
});

Deno.test("no guess when nothing is near, or the name is too short to guess from", () => {
  assert.equal(mistake(["--frobnicate"]), "unknown flag --frobnicate");
  assert.equal(mistake(["--x"]), "unknown flag --x");
  assert.equal(mistake(["-x"]), "unknown flag -x");
  assert.equal(nearestFlag("--hel", ["--help", "-h"]), null, "three letters: no guess");
});

Deno.test("the parser's other mistakes are one sentence too", () => {
  assert.equal(mistake(["--port"]), "--port needs a value");
  assert.equal(mistake(["--json=yes"]), "--json takes no value");
  assert.equal(
    mistake(["file.png"]),
    'unexpected argument "file.png": this command takes flags only',
  );
  assert.equal(mistake(["file.png"], true), "");
  assert.equal(usageLine("classify", "x"), "classify: x (deno task classify --help)");
});

Deno.test("a negative number after a flag is its value, for the command to check", () => {
  const values = (args: string[]) => parseFlags({ args, options: OPTIONS }).values;
  assert.equal(values(["--port", "-1"]).port, "-1");
  assert.equal(values(["--max-batch", "-0.5", "--json"])["max-batch"], "-0.5");
  assert.equal(values(["--port", "-1e3"]).port, "-1e3");
  // Only numbers: a flag after a flag still leaves the first without its value.
  assert.equal(mistake(["--port", "--json"]), "--port needs a value");
  assert.equal(mistake(["--port", "-x"]), "--port needs a value");
  // A boolean flag takes no value, so a number after it stays an argument.
  assert.equal(mistake(["--json", "-1"]), "unknown flag -1");
  // After "--" everything is an argument as it was.
  assert.deepEqual(
    parseFlags({ args: ["--", "--port", "-1"], options: OPTIONS, allowPositionals: true })
      .positionals,
    ["--port", "-1"],
  );
});

/** Runs `deno task NAME ARGS...` in the project and returns its exit code and stderr. */
async function task(...args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const { code, stderr, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", ...args],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) =>
    new TextDecoder().decode(bytes).split("\n").filter((line) => !/Download/.test(line)).join(
      "\n",
    );
  return { code, stderr: text(stderr), stdout: text(stdout) };
}

Deno.test("the real commands answer a wrong flag or value with one line and exit 2, no help dump", async () => {
  for (
    const [name, args, line] of [
      [
        "bench:stress",
        ["--clientz", "3"],
        "bench:stress: unknown flag --clientz; did you mean --clients? (deno task bench:stress --help)",
      ],
      [
        "classify",
        ["--sever", "127.0.0.1:1", "x.png"],
        "classify: unknown flag --sever; did you mean --server? (deno task classify --help)",
      ],
      [
        "serve",
        ["--prot", "1"],
        "serve: unknown flag --prot; did you mean --port? (deno task serve --help)",
      ],
      [
        "token",
        ["--line-onyl", "a"],
        "token: unknown flag --line-onyl; did you mean --line-only? (deno task token --help)",
      ],
      // A negative number is a value given: refused in the option's own words, not as missing.
      [
        "serve",
        ["--listeners", "-1"],
        'serve: --listeners must be a whole number from 1 to 64, got "-1" (deno task serve --help)',
      ],
      [
        "bench:stress",
        ["--duration", "-1"],
        'bench:stress: --duration must be ≥ 0.001, got "-1" (deno task bench:stress --help)',
      ],
      [
        "bench:reload",
        ["--framed", "-5"],
        'bench:reload: --framed must be ≥ 0, got "-5" (deno task bench:reload --help)',
      ],
    ] as const
  ) {
    const { code, stderr, stdout } = await task(name, ...args);
    assert.equal(code, 2, `${name}: ${stderr}`);
    assert.equal(stderr.trim(), line);
    assert.equal(stdout, "", `${name} prints no help`);
  }
});

Deno.test("HOST[:PORT]: the port given or the default; anything else is one sentence", () => {
  assert.deepEqual(parseHostPort("192.168.1.10", 32001), { host: "192.168.1.10", port: 32001 });
  assert.deepEqual(parseHostPort(" inference.lan:4000 ", 32001), {
    host: "inference.lan",
    port: 4000,
  });
  assert.throws(() => parseHostPort("a b", 1), UsageError, 'server "a b" is not HOST or HOST:PORT');
  assert.throws(() => parseHostPort("host:0", 1), UsageError, "server port 0 is not 1..65535");
  assert.throws(
    () => parseHostPort("host:70000", 1),
    UsageError,
    "server port 70000 is not 1..65535",
  );
});

Deno.test("checkOutputPath: a path that cannot be written is one sentence naming the flag; nothing is made", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-args-out-" });
  try {
    await Deno.writeTextFile(`${dir}/afile`, "x");
    const refused: [() => void, string][] = [
      [() => checkOutputPath("--out", dir), `--out ${dir} is a folder: give the path of a file`],
      [
        () => checkOutputPath("--out", `${dir}/`),
        `--out ${dir}/ is a folder: give the path of a file`,
      ],
      [
        () => checkOutputPath("--out", `${dir}/afile/x`, "file", true),
        `--out ${dir}/afile/x: ${dir}/afile is a file, not a folder`,
      ],
      [
        () => checkOutputPath("--out", `${dir}/a/b/x`),
        `--out ${dir}/a/b/x: there is no folder ${dir}/a/b`,
      ],
      [
        () => checkOutputPath("--dir", `${dir}/afile`, "folder", true),
        `--dir ${dir}/afile is a file, not a folder`,
      ],
      [() => checkOutputPath("--dir", `${dir}/new`, "folder"), `--dir ${dir}/new: no such folder`],
      [() => checkOutputPath("--out", " "), "--out needs a path"],
    ];
    for (const [check, sentence] of refused) assert.throws(check, new UsageError(sentence));
    // Taken: a new file in a folder that is there, one to overwrite, folders to make.
    checkOutputPath("--out", `${dir}/new.json`);
    checkOutputPath("--out", `${dir}/afile`);
    checkOutputPath("--out", `${dir}/a/b/x`, "file", true);
    checkOutputPath("--dir", `${dir}/a/b`, "folder", true);
    checkOutputPath("--dir", dir, "folder");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["afile"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
