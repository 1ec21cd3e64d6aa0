/**
 * The test board's telnet console: a TCP port on 127.0.0.1 that answers as
 * an Espruino board's console does, enough for `deno task flash --port
 * tcp://127.0.0.1:PORT` and the Espruino tool to upload to the harness
 * (`harness.ts`) and ask its `VERSION`. Each line typed (the tool's
 * Ctrl-C and echo-off bytes taken out) runs at the board's REPL; what the
 * board prints goes back, then `=value` and the `>` prompt. The lines an
 * upload to flash sends are played as a board would: `reset()` starts an
 * empty board, `E.setBootCode(code)` keeps the code as the flash would, and
 * `load()` boots a board that runs it.
 *
 * @example
 * ```ts
 * import { BoardConsole } from "./harness_console.ts";
 *
 * const console_ = await BoardConsole.start();
 * // deno task flash --port tcp://127.0.0.1:${console_.port} --server 127.0.0.1 ...
 * console.log(console_.port, console_.boots);
 * await console_.close();
 * ```
 * @module
 */
import { Board, type BoardOptions } from "./harness.ts";

/** A harness board behind a telnet console. */
export class BoardConsole {
  #listener: Deno.TcpListener;
  #board!: Board;
  #options: BoardOptions;
  #bootCode = "";
  #conns = new Set<Deno.TcpConn>();
  #accepting: Promise<void>;
  #temporary: string | null = null;
  /** How many times the board has booted code from its flash (`load()`). */
  boots = 0;

  private constructor(listener: Deno.TcpListener, options: BoardOptions) {
    this.#listener = listener;
    this.#options = options;
    this.#accepting = this.#accept();
  }

  /**
   * Starts an empty board (no code yet) and its console on a free port; its
   * flash is `options.storageFile`, or a temporary file removed by `close()`.
   */
  static async start(options: BoardOptions = {}): Promise<BoardConsole> {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const temporary = options.storageFile ? null : await Deno.makeTempFile({ suffix: ".json" });
    if (temporary) await Deno.writeTextFile(temporary, "{}");
    const self = new BoardConsole(listener, {
      ...options,
      storageFile: options.storageFile ?? temporary!,
    });
    self.#temporary = temporary;
    self.#board = await Board.start("", { ...options, echo: (line) => self.#write(line) });
    return self;
  }

  /** The console's TCP port. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** The board now running. */
  get board(): Board {
    return this.#board;
  }

  #write(line: string): void {
    const bytes = new TextEncoder().encode(`${line}\r\n`);
    for (const conn of this.#conns) conn.write(bytes).catch(() => this.#conns.delete(conn));
  }

  async #accept(): Promise<void> {
    for await (const conn of this.#listener) {
      this.#conns.add(conn);
      this.#serve(conn).finally(() => {
        this.#conns.delete(conn);
        try {
          conn.close();
        } catch {
          // closed already
        }
      });
    }
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const decoder = new TextDecoder();
    let text = "";
    const buffer = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) return;
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
      let nl;
      while ((nl = text.indexOf("\n")) >= 0) {
        // deno-lint-ignore no-control-regex -- Ctrl-C and the echo-off byte the tool sends
        const line = text.slice(0, nl).replace(/[\x03\x10\r]/g, "").trim();
        text = text.slice(nl + 1);
        await this.#run(line);
      }
    }
  }

  /** Runs one console line as the board would. */
  async #run(line: string): Promise<void> {
    if (line === "") {
      this.#write(">");
      return;
    }
    const bootCode = /^E\.setBootCode\((".*")\);?$/s.exec(line);
    if (/^reset\(\);?$/.test(line)) await this.#restart("");
    else if (bootCode) this.#bootCode = JSON.parse(bootCode[1]);
    else if (/^load\(\);?$/.test(line)) {
      this.boots++;
      await this.#restart(this.#bootCode);
    } else {
      const value = await this.#board.repl(line);
      this.#write(`=${value ?? "undefined"}`);
    }
    this.#write(">");
  }

  async #restart(code: string): Promise<void> {
    await this.#board.close();
    this.#board = await Board.start(code, { ...this.#options, echo: (l) => this.#write(l) });
  }

  /** Stops the console and the board. */
  async close(): Promise<void> {
    this.#listener.close();
    await this.#accepting.catch(() => {});
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // closed already
      }
    }
    await this.#board.close();
    if (this.#temporary) await Deno.remove(this.#temporary);
  }
}
