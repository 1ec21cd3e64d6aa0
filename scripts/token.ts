/**
 * `deno task token NAME`: makes a new random device token and prints it with
 * the line that goes into the `--tokens` file (the file keeps only the
 * token's sha256, so it holds no usable secret). Build the board's firmware
 * with the token; give the server the line.
 *
 * @example
 * ```sh
 * deno task token kitchen
 * # token  q3V0...          (32 characters, for the board: deno task build --token ...)
 * # line   kitchen 5e1c...  (for the server's --tokens file)
 * deno task token kitchen --line-only >> tokens.txt   # the token goes to stderr
 * ```
 * @module
 */
import { exitOnUsageError, exitWithUsage, parseFlags } from "../cli/args.ts";
import { DEVICE_NAME_RULE, isDeviceName } from "../shared/device_name.ts";
import { newToken, tokenLine } from "../server/auth/tokens.ts";

const USAGE = `Usage: deno task token NAME [--line-only]

Prints a new random 32-character device token and its line for the --tokens file ("NAME SHA256HEX").

Options:
  --line-only   print only the file line on stdout (the token goes to stderr), for ">> tokens.txt"
  -h, --help    show this help`;

function fail(message: string): never {
  exitWithUsage("token", message);
}

let parsed;
try {
  parsed = parseFlags({
    args: Deno.args,
    options: { "line-only": { type: "boolean" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
  });
} catch (e) {
  exitOnUsageError("token", e);
}
if (parsed.values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (parsed.positionals.length !== 1) fail("give exactly one device name");
const name = parsed.positionals[0];
if (!isDeviceName(name)) {
  fail(`device name "${name}" must be ${DEVICE_NAME_RULE}`);
}
const token = newToken();
if (parsed.values["line-only"]) {
  console.error(`token for ${name}: ${token}`);
  console.log(tokenLine(name, token));
} else {
  console.log(`token  ${token}`);
  console.log(`line   ${tokenLine(name, token)}`);
}
