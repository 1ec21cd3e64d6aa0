/**
 * Espruino for Linux as the budget tests run it (`MNIST_ESPRUINO` names the
 * binary, built with 1,600 variables of 12 bytes as ../shared/contracts.md
 * says): a process with its flash file in a folder, typed at over its telnet
 * console. Nothing of the interpreter is in the project.
 *
 * @example
 * ```ts
 * import { ESPRUINO, Interpreter } from "./espruino_linux.ts";
 *
 * if (ESPRUINO) {
 *   const board = await Interpreter.start(await Deno.makeTempDir());
 *   console.log(await board.usage()); // variables in use
 *   await board.close();
 * }
 * ```
 * @module
 */
import { main as flash } from "./flash.ts";

/** The interpreter's binary, or undefined: the tests that need it are then ignored. */
export const ESPRUINO = Deno.env.get("MNIST_ESPRUINO");
/** Espruino's telnet console (fixed by the interpreter). */
export const TELNET_PORT = 2323;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Flashes a fresh interpreter on the flash file in `dir` as a person does it
 * (`deno task flash` over its telnet console, the console left free for the
 * tool), for a server on loopback `serverPort`; the bundle goes to `out`.
 * `flags` go to the task too (`--updates`).
 */
export async function flashOverTelnet(
  dir: string,
  serverPort: number,
  out: string,
  flags: string[] = [],
): Promise<void> {
  const board = await Interpreter.start(dir, false);
  const said: string[] = [];
  try {
    const code = await flash(
      [
        "--port",
        `tcp://127.0.0.1:${TELNET_PORT}`,
        "--server",
        `127.0.0.1:${serverPort}`,
        "--out",
        out,
        ...flags,
      ],
      (line) => said.push(line),
    );
    if (code !== 0) throw new Error(`flash failed:\n${said.join("\n")}`);
  } finally {
    await board.close();
  }
}

/** An Espruino for Linux process with its flash file in `dir`, typed at over telnet. */
export class Interpreter {
  #process: Deno.ChildProcess;
  #conn: Deno.TcpConn | null = null;
  #text = "";
  #reading: Promise<void> | null = null;

  private constructor(process: Deno.ChildProcess) {
    this.#process = process;
  }

  /** Starts the interpreter; with `console`, also connects to its telnet console. */
  static async start(dir: string, console = true): Promise<Interpreter> {
    const process = new Deno.Command(ESPRUINO!, {
      args: ["--telnet"],
      cwd: dir,
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const it = new Interpreter(process);
    for (let i = 0; i < 100; i++) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: TELNET_PORT });
        if (console) it.#listen(conn);
        else conn.close();
        return it;
      } catch {
        await sleep(50);
      }
    }
    await it.close();
    throw new Error(`${ESPRUINO} did not open its telnet port ${TELNET_PORT}`);
  }

  #listen(conn: Deno.TcpConn): void {
    this.#conn = conn;
    const decoder = new TextDecoder();
    this.#reading = (async () => {
      const buf = new Uint8Array(4096);
      for (;;) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) return;
        this.#text += decoder.decode(buf.subarray(0, n));
      }
    })();
  }

  /** The console's lines so far, prompts and terminal codes taken out. */
  lines(): string[] {
    // deno-lint-ignore no-control-regex -- the console's terminal codes (ESC [ ... letter)
    return this.#text.replace(/\r/g, "").replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").split("\n")
      .map((line) => line.replace(/^>+/, "").trim()).filter((line) => line);
  }

  /** Types `code` (not echoed); waits for `count` lines from then on that match `until`. */
  async run(code: string, until?: RegExp, count = 1, timeoutMs = 180000): Promise<string[]> {
    const from = this.lines().length;
    await this.#conn!.write(new TextEncoder().encode("\x10" + code + "\n"));
    if (!until) return [];
    for (let waited = 0; waited < timeoutMs; waited += 20) {
      const found = this.lines().slice(from).filter((line) => until.test(line));
      if (found.length >= count) return found;
      await sleep(20);
    }
    throw new Error(`no ${count} line(s) matching ${until} after "${code}":\n${this.#text}`);
  }

  /** Variables in use now. */
  async usage(): Promise<number> {
    const [line] = await this.run('print("USAGE "+process.memory().usage)', /^USAGE \d+$/);
    return Number(line.slice(6));
  }

  /** Stops the interpreter, which ignores SIGTERM. */
  async close(): Promise<void> {
    this.#conn?.close();
    await this.#reading;
    this.#process.kill("SIGKILL");
    await this.#process.status;
  }
}
