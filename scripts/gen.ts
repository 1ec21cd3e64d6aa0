/**
 * Regenerates the FlatBuffers TypeScript in `shared/generated/` from
 * `shared/schema/mnist.fbs` with Debian's `flatc` (package
 * `flatbuffers-compiler`, 2.0.8), then adds the `.ts` extensions Deno needs to
 * flatc's extensionless relative imports. `--check` generates into a scratch
 * folder and fails when the committed files differ.
 *
 * @example
 * ```sh
 * deno task gen        # rewrite shared/generated/
 * deno task gen:check  # CI: exit 1 when shared/generated/ is stale
 * ```
 * @module
 */
import { exitOnUsageError, exitWithError, parseFlags } from "../cli/args.ts";

const SCHEMA = "shared/schema/mnist.fbs";
const OUT = "shared/generated";
const EXPECTED_FLATC = "2.0.8";

const USAGE = `deno task gen [--check]

Regenerates ${OUT}/ from ${SCHEMA} with flatc ${EXPECTED_FLATC}, which it needs
(Debian: apt-get install flatbuffers-compiler).

  --check      generate into a scratch folder; exit 1 when ${OUT}/ differs (CI)
  --help       this text`;

let values;
try {
  values = parseFlags({
    args: Deno.args,
    options: { check: { type: "boolean", default: false }, help: { type: "boolean", short: "h" } },
  }).values;
} catch (e) {
  exitOnUsageError("gen", e);
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

async function flatc(args: string[]): Promise<string> {
  let out;
  try {
    out = await new Deno.Command("flatc", { args, stderr: "inherit" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      exitWithError("gen", "flatc not found: apt-get install flatbuffers-compiler");
    }
    throw e;
  }
  if (!out.success) Deno.exit(2);
  return new TextDecoder().decode(out.stdout);
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory) files.push(...await listFiles(`${dir}/${entry.name}`, rel + "/"));
    else files.push(rel);
  }
  return files.sort();
}

const version = (await flatc(["--version"])).trim().replace(/^flatc version /, "");
if (version !== EXPECTED_FLATC) {
  console.error(`warning: flatc ${version}; shared/generated/ was made with ${EXPECTED_FLATC}`);
}

const scratch = await Deno.makeTempDir({ prefix: "mnist-gen-" });
await flatc(["--ts", "-o", scratch, SCHEMA]);
const generated = new Map<string, string>();
for (const file of await listFiles(scratch)) {
  const text = await Deno.readTextFile(`${scratch}/${file}`);
  generated.set(file, text.replace(/from '(\.{1,2}\/[^']+)'/g, "from '$1.ts'"));
}
await Deno.remove(scratch, { recursive: true });

if (values.check) {
  const committed = await listFiles(OUT).catch(() => [] as string[]);
  const stale: string[] = [];
  for (const file of new Set([...committed, ...generated.keys()])) {
    const old = await Deno.readTextFile(`${OUT}/${file}`).catch(() => null);
    if (old !== generated.get(file)) stale.push(file);
  }
  if (stale.length) {
    console.error(`${OUT} differs from ${SCHEMA} in: ${stale.join(", ")}\nrun: deno task gen`);
    Deno.exit(1);
  }
  console.log(`${OUT} matches ${SCHEMA} (${generated.size} files)`);
} else {
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  for (const [file, text] of generated) {
    const path = `${OUT}/${file}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
  console.log(`wrote ${generated.size} files to ${OUT}`);
}
