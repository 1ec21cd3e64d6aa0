/**
 * What the tests of `deno task flash` share: whether the flashing tool's
 * packages are installed (`NO_TOOL`), the task run in this process with its
 * lines caught (`flash`) or as a person runs it (`flashTask`), and a
 * temporary folder for its output (`withTempDir`).
 *
 * @module
 */
import { requireSetup } from "../server/testing/tools.ts";
import { main } from "./flash.ts";
import { espruinoSpecifier, TOOL_CONFIG } from "./flash_tool.ts";

/**
 * Whether the tool's packages are already in Deno's cache (`deno task
 * install:flash`): the tests that run it time the tool, never its first
 * download (about 270 packages).
 */
async function toolInstalled(): Promise<boolean> {
  const spec = await espruinoSpecifier();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", "--frozen", "--config", TOOL_CONFIG, spec, "--help"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).includes("Espruino Command-line Tool");
}

export const NO_TOOL = requireSetup(
  await toolInstalled(),
  "the flashing tool's packages (deno task install:flash)",
);

/** Runs `deno task flash` with `args`; returns its exit code and every line it printed. */
export async function flash(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const error = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    const code = await main(args, (line) => lines.push(line));
    return { code, lines };
  } finally {
    console.error = error;
  }
}

export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `deno task flash` as a person does, with the task's own permissions. */
export async function flashTask(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "flash", ...args],
    cwd: new URL("..", import.meta.url).pathname,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, text: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}
