/**
 * `deno task docs:config`: writes docs/configuration.md from the server's
 * option table (`server/config.ts`). `--check` only compares, and exits 1
 * when the file is stale (`server/config_test.ts` does the same).
 *
 * @example
 * ```sh
 * deno task docs:config           # rewrite docs/configuration.md
 * deno task docs:config --check   # exit 1 if it differs from the table
 * ```
 * @module
 */
import { exitOnUsageError, parseFlags } from "../cli/args.ts";
import { configurationDoc } from "../server/config_help.ts";

const TASK = "docs:config";
const FILE = new URL("../docs/configuration.md", import.meta.url);
const USAGE = `deno task ${TASK} [--check]

Writes docs/configuration.md from the option table in server/config.ts.
  --check     only compare; exit 1 when the file is stale
  -h, --help  show this help`;

if (import.meta.main) {
  let values;
  try {
    values = parseFlags({
      args: Deno.args,
      options: { check: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    }).values;
  } catch (e) {
    exitOnUsageError(TASK, e);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const text = configurationDoc();
  if (values.check) {
    const now = await Deno.readTextFile(FILE).catch(() => "");
    if (now !== text) {
      console.error(`${TASK}: docs/configuration.md is stale; run deno task ${TASK}`);
      Deno.exit(1);
    }
  } else {
    await Deno.writeTextFile(FILE, text);
    console.log(`wrote ${FILE.pathname}`);
  }
}
