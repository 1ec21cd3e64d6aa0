/**
 * For the tests of `deno task build`: runs its `main` in this process with
 * `args` and keeps what it prints, so a test reads the exit code and the
 * lines without spawning the task.
 *
 * @example
 * ```ts
 * import { runBuild } from "./build_testing.ts";
 *
 * const { code, out } = await runBuild(["--bogus"]);
 * console.log(code, out.length > 0); // 2 true: one sentence for a flag it does not take
 * ```
 * @module
 */
import { main } from "./build_cli.ts";

/** Runs `deno task build` with `args`: its exit code and the lines it printed. */
export async function runBuild(args: string[]): Promise<{ code: number; out: string[] }> {
  const log = console.log, error = console.error;
  const out: string[] = [];
  console.log = console.error = (line: string) => out.push(line);
  try {
    return { code: await main(args), out };
  } finally {
    console.log = log;
    console.error = error;
  }
}
