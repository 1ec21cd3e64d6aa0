// Every bench answers a mistake on its command line with one sentence on
// stderr and exit 2, before it starts a server or measures anything: an
// unknown flag, a bad value, and a path or choice that cannot be right.
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

/** `deno task TASK ARGS`: exit code and stderr. */
async function task(args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

const MISTAKES: [string[], RegExp][] = [
  [["bench:stress", "--clinets", "3"], /unknown flag --clinets; did you mean --clients\?/],
  [
    ["bench:stress", "--server-main", "no/such/main.ts"],
    /--server-main no\/such\/main\.ts: no such file/,
  ],
  [
    ["bench:inference", "--model", "no/such/model.onnx"],
    /--model no\/such\/model\.onnx: no such file/,
  ],
  [["bench:inference", "--model", "README.md"], /--model: model README\.md is not an ONNX file/],
  [["bench:codec", "--bogus"], /unknown flag --bogus/],
  [
    ["bench:soak", "--server-main", "no/such/main.ts"],
    /--server-main no\/such\/main\.ts: no such file/,
  ],
  [["bench:reload", "stray"], /unexpected argument "stray"/],
  [["bench:limits", "--tree", "/"], /--tree \/: not a copy of the project/],
  [["bench:limits", "uploads", "--uploaders", "0"], /--uploaders must be ≥ 1, got "0"/],
  [
    ["bench:limits", "neighbours", "--runs", "x"],
    /^bench:limits: --runs must be an integer, got "x"/,
  ],
  [["bench:limits", "drip", "--set", "foo=1"], /--set foo: no such server option; it takes /],
  [
    ["bench:stress", "--report", "/nonexist/dir/x.html", "--clients", "1", "--requests", "1"],
    /--report \/nonexist\/dir\/x\.html: there is no folder \/nonexist\/dir/,
  ],
  [["bench:start-hang", "--engine", "gpu"], /--engine must be one of wasm, native, got "gpu"/],
  [["bench:start-hang", "--server-main", "no/such/main.ts"], /no such file/],
  [["fuzz", "--token", "short"], /--token must be 32 characters/],
  [["fuzz", "--duration", "x"], /--duration must be a number, got "x"/],
];

for (const [args, sentence] of MISTAKES) {
  Deno.test(`deno task ${args.join(" ")}: one sentence, exit 2`, async () => {
    const { code, stderr } = await task(args);
    assert.equal(code, 2, stderr);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.match(stderr, new RegExp(`^${args[0]}: `));
    assert.match(stderr, sentence);
    assert.match(stderr, new RegExp(`\\(deno task ${args[0]} --help\\)\\n$`));
  });
}
