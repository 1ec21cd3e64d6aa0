/**
 * The flashing tool, the Espruino command line (the `espruino` npm package,
 * pinned with its lock in `scripts/flash/`): fetching its packages into
 * Deno's cache once, saying so, and running one call of it, its lines
 * echoed without its libraries' noise, stopped at the first line that says
 * the board cannot be reached or after a timeout. `flash.ts` decides the
 * calls.
 *
 * @example
 * ```ts
 * import { runCall } from "./flash_tool.ts";
 *
 * // Any command: its lines are echoed and kept, and it is stopped after the timeout.
 * const result = await runCall([Deno.execPath(), "eval", "console.log('RECEIVE ERROR: x')"], 30, () => {});
 * console.log(result.stopped); // the connection failed
 * ```
 * @module
 */

/** A failed fetch, upload or check, with a sentence saying what to do. */
export class FlashError extends Error {}

/**
 * Lines the tool's Node libraries print that say nothing about the board
 * (a deprecation of theirs, and Node's hint on tracing it): kept from the user.
 */
const NOISE = [/^\(node:\d+\) \[DEP\d+\] DeprecationWarning/, /^\(Use `node --trace-deprecation/];

/**
 * The Espruino tool's own configuration: its pin and lock live in
 * `scripts/flash/`, not in the project's `deno.json`, because Deno fetches
 * every package in a lock on first use, and serving must not download
 * serialport, usb and Bluetooth packages (about 270 of them).
 */
export const TOOL_CONFIG = new URL("./flash/deno.json", import.meta.url).pathname;

/** The folder of the tool's configuration and lock, where `deno task install:flash` installs. */
const TOOL_DIR = new URL("./flash/", import.meta.url).pathname;

/** Runs `deno install --frozen FLAGS` in the tool's folder; its exit code and last line. */
async function denoInstall(flags: string[]): Promise<{ ok: boolean; last: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["install", "--frozen", "--quiet", ...flags],
    cwd: TOOL_DIR,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr).trim().split("\n");
  const last = text.filter((l) => /error/i.test(l)).at(-1) ?? text.at(-1) ?? "";
  return { ok: out.success, last: last.replace(/^error:\s*/i, "") };
}

/**
 * Puts the tool's packages into Deno's cache when they are not there yet
 * (the first flash on a machine): about 270 npm packages, 63 MB. It says so
 * first, and it happens before any call of the tool, so its time never
 * counts against `--timeout`. A no-op, in a fraction of a second, once they
 * are there.
 */
export async function fetchTool(echo: (line: string) => void): Promise<void> {
  if ((await denoInstall(["--cached-only"])).ok) return;
  const spec = await espruinoSpecifier();
  echo(
    `Fetching the flashing tool once (${spec} and the ~270 npm packages it needs, about 63 MB, ` +
      "into Deno's cache): it is not there yet; --timeout starts after this.",
  );
  const started = performance.now();
  const fetched = await denoInstall([]);
  if (!fetched.ok) {
    throw new FlashError(
      `could not fetch the flashing tool: ${fetched.last}; ` +
        "check the network, then run deno task install:flash",
    );
  }
  echo(`Fetched the flashing tool in ${Math.round((performance.now() - started) / 1000)} s.`);
}

/** The `npm:` specifier of the Espruino tool, as pinned in `TOOL_CONFIG`'s imports. */
export async function espruinoSpecifier(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(TOOL_CONFIG));
  const specifier = config.imports?.espruino;
  if (typeof specifier !== "string" || !specifier.startsWith("npm:espruino@")) {
    throw new FlashError(`${TOOL_CONFIG} has no "espruino" import (npm:espruino@VERSION)`);
  }
  return specifier;
}

/**
 * What the tool prints when it cannot talk to the board, and what to call it.
 * (Not every error it prints: it also fails, harmlessly, to fetch board data
 * from espruino.com when offline.)
 */
const FAILURES: [RegExp, string][] = [
  [
    /RECEIVE ERROR.*ECONNREFUSED/,
    "connection refused: is the board's telnet console on that address?",
  ],
  [/RECEIVE ERROR/, "the connection failed"],
  [
    /Port ".*" not found/,
    "the tool does not list it among the serial ports (it asks udev: udevadm info -e)",
  ],
  [
    /EACCES|Permission denied/i,
    "permission denied: add yourself to the dialout group (sudo usermod -aG dialout $USER) " +
    "and log in again",
  ],
  [/Unable to connect/i, "the tool could not open the port"],
  [/No Ports Found/, "no serial ports found"],
  [/Prompt not detected/, "the board does not answer at its REPL"],
];

/** The result of one call of the tool. */
export interface CallResult {
  lines: string[];
  /** Why the call was stopped early, or null when it ended by itself. */
  stopped: string | null;
  code: number;
}

/**
 * Runs one command, echoing its lines to `echo`; stops it at the first line
 * that says the board cannot be reached, or after `timeoutSeconds`.
 */
export async function runCall(
  command: string[],
  timeoutSeconds: number,
  echo: (line: string) => void,
): Promise<CallResult> {
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const lines: string[] = [];
  let stopped: string | null = null;
  const stop = (why: string) => {
    if (stopped) return;
    stopped = why;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(
    () => stop(`no answer within ${timeoutSeconds} s`),
    timeoutSeconds * 1000,
  );
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl).replace(/\r$/, "");
        rest = rest.slice(nl + 1);
        if (NOISE.some((pattern) => pattern.test(line))) continue;
        lines.push(line);
        echo(line);
        const failure = FAILURES.find(([pattern]) => pattern.test(line));
        if (failure) stop(failure[1]);
      }
    }
    if (rest) {
      lines.push(rest);
      echo(rest);
    }
  };
  const [status] = await Promise.all([child.status, pump(child.stdout), pump(child.stderr)]);
  clearTimeout(timer);
  return { lines, stopped, code: status.code };
}
