/**
 * What tests and benches need from outside Deno, in one place. A test that
 * runs a system tool (haproxy, promtool, socat, ...) or a prepared folder
 * (`deno task vendor`, `deno task install:flash`) asks here first:
 *
 * - present: the test runs;
 * - missing: the test is ignored, and one line says what to install, such as
 *   `skipped: needs haproxy (apt-get install haproxy)`, so `deno task test`
 *   passes on a machine that has only Deno;
 * - missing while `MNIST_REQUIRE_TOOLS=1` (`.ci/run` sets it after installing
 *   everything): an error, so CI never passes by skipping.
 *
 * Each line is printed once per test module, however many tests ask.
 *
 * @example
 * ```ts
 * import { requireTool } from "./tools.ts";
 *
 * Deno.test({
 *   name: "HAProxy accepts the shipped configuration",
 *   ignore: requireTool("haproxy", "haproxy"),
 *   fn: async () => {
 *     const { success } = await new Deno.Command("haproxy", { args: ["-v"] }).output();
 *     if (!success) throw new Error("haproxy -v failed");
 *   },
 * });
 * ```
 * @module
 */

/** The variable CI sets so that a missing tool fails its tests instead of skipping them. */
export const REQUIRE_TOOLS_VARIABLE = "MNIST_REQUIRE_TOOLS";

/** Whether a missing tool is an error (CI) rather than a reason to skip. */
export function toolsRequired(): boolean {
  return Deno.env.get(REQUIRE_TOOLS_VARIABLE) === "1";
}

/** The full path of `command` as the shell would find it on PATH, or null. */
export function findTool(command: string): string | null {
  const dirs = command.includes("/") ? [""] : (Deno.env.get("PATH") ?? "").split(":");
  for (const dir of dirs) {
    const path = dir === "" ? command : `${dir}/${command}`;
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch {
      // Not in this folder (or not readable): look in the next one.
    }
  }
  return null;
}

const said = new Set<string>();

/**
 * Decides about a precondition that is not a Debian package: `ready` says
 * whether it holds, `need` what is missing and how to get it ("the flashing
 * tool's packages: run deno task install:flash"). Returns whether to ignore
 * the tests that need it; throws when it is missing under `MNIST_REQUIRE_TOOLS=1`.
 */
export function requireSetup(ready: boolean, need: string): boolean {
  if (ready) return false;
  if (toolsRequired()) {
    throw new Error(`${REQUIRE_TOOLS_VARIABLE}=1 but this test needs ${need}`);
  }
  const line = `skipped: needs ${need}`;
  if (!said.has(line)) {
    said.add(line);
    console.log(line);
  }
  return true;
}

/**
 * Whether to ignore the tests that run `command`, which Debian's
 * `debianPackage` installs: false when it is on PATH; otherwise prints
 * `skipped: needs COMMAND (apt-get install PACKAGE)` once and returns true,
 * or throws under `MNIST_REQUIRE_TOOLS=1`.
 */
export function requireTool(command: string, debianPackage: string): boolean {
  return requireSetup(findTool(command) !== null, `${command} (apt-get install ${debianPackage})`);
}

/**
 * Whether to ignore the tests that need Debian's `/usr/bin/python3` to
 * import `modules` (installed by `debianPackages`, e.g. "python3-torch
 * python3-onnx"): as `requireTool`, a line naming the packages, or an error
 * under `MNIST_REQUIRE_TOOLS=1`.
 */
export function requirePython(modules: string[], debianPackages: string): boolean {
  let ready = false;
  try {
    ready = new Deno.Command("/usr/bin/python3", {
      args: ["-c", `import ${modules.join(", ")}`],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    // No python3 at all: not ready.
  }
  return requireSetup(
    ready,
    `the python3 modules ${modules.join(", ")} (apt-get install ${debianPackages})`,
  );
}

/** Registers tests that are all ignored together when what they need is missing. */
export interface IgnorableTests {
  /** `Deno.test(name, fn)`, ignored when what these tests need is missing. */
  test(name: string, fn: () => void | Promise<void>): void;
}

/**
 * Tests that need what `ignore` stands for (the result of `requireTool` or
 * `requireSetup`): `const openssl = ignorableTests(requireTool("openssl",
 * "openssl"))`, then `openssl.test(name, fn)` as with `Deno.test`.
 */
export function ignorableTests(ignore: boolean): IgnorableTests {
  return { test: (name, fn) => Deno.test({ name, ignore, fn }) };
}
