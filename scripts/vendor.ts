/**
 * `deno task vendor`: makes this folder serve with no network at all, so it
 * can be copied to a machine on a LAN without internet (where boards often
 * live). It writes `vendor/` (ignored by git, never committed):
 *
 * - `vendor/deno/`: a Deno cache (DENO_DIR) holding exactly what serving
 *   loads: the npm packages of `deno.lock` (onnxruntime-web, flatbuffers, ...)
 *   fetched for `server/main.ts` and the engine worker it starts.
 * - `vendor/bin/deno`: a copy of the Deno binary that ran this, so the copied
 *   folder needs no Deno installed (same OS and CPU architecture).
 * - `vendor/serve`: starts the server from the cache with `--cached-only`
 *   (any attempt to download fails at once instead of waiting on a network).
 *   The systemd unit (`deploy/mnist-server.service`) runs the same command
 *   with the same `DENO_DIR`, written out in its `ExecStart` and `Environment=`.
 *
 * Why a cache and not `nodeModulesDir` with packages checked in: the packages
 * are platform-specific binaries and wasm (tens of MB) that do not belong in
 * git, and a cache keeps Deno's own resolution unchanged for everyone else.
 *
 * @example
 * ```sh
 * deno task vendor
 * rsync -a --exclude .git ./ board-server:/opt/mnist-server/
 * ssh board-server /opt/mnist-server/vendor/serve --port 32001
 * ```
 * @module
 */

import { exitOnUsageError, parseFlags } from "../cli/args.ts";
import { ENGINE_V8_FLAGS_ARG } from "../server/engine/ort_wasm.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const VENDOR = `${ROOT}vendor`;

/** What `vendor/serve` runs: the server from the vendored cache, network off. */
export const VENDOR_SERVE = `#!/bin/sh
# Written by 'deno task vendor': serves from vendor/deno with no network access.
# Flags go to the server (deno task serve --help lists them).
cd "$(dirname "$0")/.." || exit 1
DENO_DIR="$PWD/vendor/deno" exec "$PWD/vendor/bin/deno" run --cached-only ${ENGINE_V8_FLAGS_ARG} \\
  --allow-net --allow-read --allow-write --allow-env --unstable-net server/main.ts "$@"
`;

async function run(args: string[], env: Record<string, string>): Promise<void> {
  const { success, code } = await new Deno.Command(Deno.execPath(), {
    args,
    env,
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success) throw new Error(`deno ${args.join(" ")} exited with ${code}`);
}

const USAGE = `Usage: deno task vendor

Writes vendor/ (a Deno cache, a Deno binary and vendor/serve) so that this folder serves with no
network. It takes no flags besides -h, --help.`;

if (import.meta.main) {
  try {
    const { values } = parseFlags({
      args: Deno.args,
      options: { help: { type: "boolean", short: "h" } },
    });
    if (values.help) {
      console.log(USAGE);
      Deno.exit(0);
    }
  } catch (e) {
    exitOnUsageError("vendor", e);
  }
  await Deno.mkdir(`${VENDOR}/bin`, { recursive: true });
  const env = { DENO_DIR: `${VENDOR}/deno` };
  // The worker is started by URL at run time, so name it as well as main.ts.
  await run(["cache", "--frozen", "server/main.ts", "server/engine/worker.ts"], env);
  await Deno.copyFile(Deno.execPath(), `${VENDOR}/bin/deno`);
  await Deno.chmod(`${VENDOR}/bin/deno`, 0o755);
  await Deno.writeTextFile(`${VENDOR}/serve`, VENDOR_SERVE);
  await Deno.chmod(`${VENDOR}/serve`, 0o755);
  console.log(
    `vendor/ ready: copy this folder (without .git) and run vendor/serve; ` +
      `Deno ${Deno.version.deno} ${Deno.build.os}/${Deno.build.arch} included`,
  );
}
