/**
 * Helpers for the classify tests: run `deno task classify` as a person does
 * (its own process and configuration), and encode raw pictures as PNG or
 * JPEG through `client/classify/encode.ts`, so that the tests never resolve
 * the picture libraries under the project's configuration.
 *
 * @example
 * ```ts
 * import { classify } from "./classify_testing.ts";
 *
 * const help = await classify(["--help"]);
 * console.log(help.code, help.stdout.split("\n")[0]);
 * ```
 * @module
 */
import type { EncodeJob } from "./classify/encode_job.ts";

/** The project's folder. */
export const ROOT = new URL("..", import.meta.url).pathname;
const CONFIG = "client/classify/deno.json";

/** What a command printed and how it ended. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs Deno with `args` in `cwd`, `stdin` on its standard input. */
export async function run(args: string[], stdin?: Uint8Array, cwd = ROOT): Promise<Ran> {
  // As a person's shell would: `deno task` sets INIT_CWD only when it is not set already, and
  // this test may itself run under `deno task test`.
  const env = Deno.env.toObject();
  delete env.INIT_CWD;
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env,
    clearEnv: true,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** `deno task classify ARGS`. */
export function classify(args: string[], stdin?: Uint8Array): Promise<Ran> {
  return run(["task", "-q", "classify", ...args], stdin);
}

/** Writes each job's picture (PNG, or JPEG with `jpegQuality`); throws when the encoder fails. */
export async function encodePictures(jobs: EncodeJob[]): Promise<void> {
  const encoded = await run(
    ["run", "--allow-read", "--allow-write", "--config", CONFIG, "client/classify/encode.ts"],
    new TextEncoder().encode(JSON.stringify(jobs)),
  );
  if (encoded.code !== 0) throw new Error(`encode.ts failed: ${encoded.stderr}`);
}
