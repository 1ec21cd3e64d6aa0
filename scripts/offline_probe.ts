/**
 * Run from a copied, vendored folder (see `vendor.ts`): starts `vendor/serve`
 * on a free loopback port, sends one legacy and one framed inference, prints
 * one JSON line with what came back, and stops the server with SIGTERM (its
 * exit code is in the line). The offline test runs it inside a network
 * namespace with only loopback (`unshare -n`).
 *
 * `--run FILE` starts another command instead: FILE is JSON
 * `{"command": [...], "cwd": "...", "env": {...}}`, run with exactly that
 * environment (as systemd runs a unit's `ExecStart`); its server's ports come
 * from its environment, and its start line says which.
 *
 * @example
 * ```sh
 * DENO_DIR=vendor/deno vendor/bin/deno run --cached-only -A scripts/offline_probe.ts
 * ```
 * @module
 */
import { InferenceClient, legacyInfer } from "../client/client.ts";
import { WireError } from "../shared/errors.ts";

function argmax(scores: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

/** What to start: a command, its working folder and its whole environment. */
interface Run {
  command: string[];
  cwd: string;
  env: Record<string, string>;
}

const ROOT = new URL("../", import.meta.url).pathname;
const runFile = Deno.args[0] === "--run" ? Deno.args[1] : undefined;
const run: Run | null = runFile ? JSON.parse(await Deno.readTextFile(runFile)) : null;
const server = run
  ? new Deno.Command(run.command[0], {
    args: run.command.slice(1),
    cwd: run.cwd,
    env: run.env,
    clearEnv: true,
    stdout: "piped",
    stderr: "inherit",
  }).spawn()
  : new Deno.Command(`${ROOT}vendor/serve`, {
    args: ["--host", "127.0.0.1", "--port", "0", "--log-level", "error"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
let out = "";
while (!out.includes("\n")) {
  const { value, done } = await reader.read();
  if (done) break;
  out += value;
}
const port = Number(out.match(/listening on [\d.]+:(\d+)/)?.[1]);
const result: Record<string, unknown> = { line: out.split("\n")[0] };
try {
  if (!port) throw new Error(`the server did not start: ${out}`);
  const address = { hostname: "127.0.0.1", port };
  const digit = new Uint8Array(784).map((_, i) => (i % 28 > 10 && i % 28 < 17 ? 255 : 0));
  const { reply, length } = await legacyInfer(address, Array.from(digit, (v) => v / 255));
  result.legacy = reply instanceof WireError
    ? { length, error: reply.toString() }
    // A legacy reply carries only the scores: the predicted digit is their argmax.
    : { length, status: reply.status, predicted: argmax(reply.scores ?? []) };
  const client = await InferenceClient.connect(address);
  const framed = await client.infer({ digitU8: digit });
  client.close();
  result.framed = { status: framed.status, predicted: framed.predicted };
} catch (e) {
  result.error = (e as Error).message;
} finally {
  server.kill("SIGTERM");
  result.exit = (await server.status).code;
  reader.cancel().catch(() => {});
}
console.log(JSON.stringify(result));
