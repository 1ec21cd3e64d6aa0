/**
 * A board for the tests: runs the BUILT firmware bundle (not the TypeScript
 * sources) in a fresh Worker that plays the Espruino interpreter
 * (`harness_worker.ts`): Espruino's globals, its event and timer rules, and
 * `require("net")` backed by real Deno sockets, so the bundle talks to the
 * real server over loopback. The test types at the REPL (`repl`), reads
 * what the board prints (`lines`, `waitFor`), changes the network (chunk
 * size, delay, connections refused at once) and reads counts that stand in
 * for the memory a harness cannot measure (`stats`).
 *
 * @example
 * ```ts
 * import { Board } from "./harness.ts";
 * import { buildFirmware } from "./build.ts";
 * import { startServer } from "../server/server.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0, httpPort: 0 });
 * const { code } = await buildFirmware({
 *   host: "127.0.0.1",
 *   port: server.addr.port,
 *   protocol: "framed",
 *   ssid: "",
 *   password: "",
 *   token: "",
 *   poll: 0,
 * });
 * const board = await Board.start(code, { wifi: "none" });
 * await board.waitFor(/^Ready/);
 * await board.repl("test()");
 * console.log(await board.waitFor(/^Predicted/));
 * await board.close();
 * await server.shutdown();
 * ```
 * @module
 */
import { buildFirmware, type Firmware } from "./build.ts";
import { File } from "./boot_state.ts";
import { storedSampleDigits } from "./sample_digits.ts";
import type { Settings } from "./settings.ts";
import type {
  BoardStats,
  FromBoard,
  NetworkSettings,
  ToBoard,
  WorkerOptions,
} from "./harness_wire.ts";

export type { BoardStats, NetworkSettings };

/** The firmware built for a server on loopback `port`, polling off, with `settings` over the defaults. */
export function firmwareFor(port: number, settings: Partial<Settings> = {}): Promise<Firmware> {
  return buildFirmware({
    host: "127.0.0.1",
    port,
    protocol: "framed",
    ssid: "",
    password: "",
    token: "",
    poll: 0,
    ...settings,
  });
}

/**
 * Runs `fn` with the path of a board's flash file in a fresh temporary
 * folder (`storageFile`: starting a board again on it is a reboot), removed
 * afterwards.
 */
export async function withStorage(fn: (file: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(`${dir}/flash.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** How the board is set up; every field has a default. */
export interface BoardOptions extends NetworkSettings {
  /** Board time runs this many times faster than the wall clock (default 1). */
  speed?: number;
  /** The Wifi module: "none" (default, as on Linux), "saved", "connected" or "never". */
  wifi?: WorkerOptions["wifi"];
  /** "flash" (default): `init` follows the code, as at boot; "ram": as after an upload to RAM. */
  boot?: WorkerOptions["boot"];
  /** What `getSerial()` answers (default `5ccf7f0a-1b2c`, an ESP8266's form). */
  serial?: string;
  /** What `process.memory().usage` reports (default 0: the harness cannot count variables). */
  memoryUsage?: number;
  /** The board's flash for `require("Storage")`: start a board again on it to reboot. */
  storageFile?: string;
  /** Also write each printed line here (default: nowhere). */
  echo?: (line: string) => void;
  /** Files put into Storage when missing (default: the sample digits, as `deno task flash` writes them). */
  files?: Record<string, string>;
  /** Cut the power while this file is being written at an offset above 0 (see `harness_worker.ts`). */
  powerCut?: string;
}

/** A firmware bundle running on a stand-in Espruino board. */
export class Board {
  /** Every line the board printed, in order. */
  readonly lines: string[] = [];
  #worker: Worker;
  #next = 1;
  #waiting = new Map<number, (m: FromBoard) => void>();
  #watchers: (() => void)[] = [];
  #echo?: (line: string) => void;
  #closed = false;
  #options: WorkerOptions;
  /** Restarts (`load()`) so far. */
  reboots = 0;
  /** The counts of each run before a restart, oldest first (`stats()` counts the current one). */
  readonly earlier: BoardStats[] = [];
  /** Whether the power was cut (`powerCut`); `Board.boot` on the same Storage powers it on again. */
  dead = false;

  private constructor(options: WorkerOptions, echo?: (line: string) => void) {
    this.#echo = echo;
    this.#options = options;
    this.#worker = this.#spawn();
  }

  #spawn(): Worker {
    const worker = new Worker(new URL("./harness_worker.ts", import.meta.url).href, {
      type: "module",
    });
    worker.onmessage = (event: MessageEvent<FromBoard>) => this.#receive(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#print(`HARNESS: the board crashed: ${event.message}`);
    };
    return worker;
  }

  /**
   * Starts a board that boots from its Storage (`options.storageFile`), as at
   * power-on: Espruino runs `.bootcde` (see `installFiles` in `firmware_output.ts`).
   */
  static boot(options: BoardOptions): Promise<Board> {
    return Board.#create("", options, "storage");
  }

  /** Starts a board that runs `code` (a built bundle). */
  static start(code: string, options: BoardOptions = {}): Promise<Board> {
    return Board.#create(code, options, "code");
  }

  static #create(code: string, options: BoardOptions, from: "code" | "storage"): Promise<Board> {
    const workerOptions: WorkerOptions = {
      speed: options.speed ?? 1,
      wifi: options.wifi ?? "none",
      boot: options.boot ?? "flash",
      memoryUsage: options.memoryUsage ?? 0,
      serial: options.serial ?? "5ccf7f0a-1b2c",
      storageFile: options.storageFile,
      chunk: options.chunk,
      delayMs: options.delayMs,
      refuseAtOnce: options.refuseAtOnce,
      from,
      files: options.files ?? { [File.DIGITS]: storedSampleDigits() },
      powerCut: options.powerCut,
    };
    const board = new Board(workerOptions, options.echo);
    board.#send({ type: "start", code, options: workerOptions });
    return Promise.resolve(board);
  }

  #send(message: ToBoard): void {
    this.#worker.postMessage(message);
  }

  #print(line: string): void {
    this.lines.push(line);
    this.#echo?.(line);
    for (const watcher of this.#watchers.slice()) watcher();
  }

  #receive(m: FromBoard): void {
    if (m.type === "reboot") {
      // Espruino's load(): the same Storage, a fresh interpreter running `.bootcde`.
      this.#worker.terminate();
      this.reboots++;
      this.earlier.push(m.stats);
      this.#options = { ...this.#options, from: "storage", powerCut: undefined };
      this.#worker = this.#spawn();
      this.#send({ type: "start", code: "", options: this.#options });
      for (const watcher of this.#watchers.slice()) watcher();
    } else if (m.type === "dead") {
      this.#worker.terminate();
      this.dead = true;
      this.#closed = true;
      this.#print("HARNESS: power cut");
    } else if (m.type === "print") {
      for (const line of m.line.split("\n")) this.#print(line);
    } else {
      const resolve = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      resolve?.(m);
    }
  }

  #ask(message: ToBoard & { id: number }): Promise<FromBoard> {
    return new Promise((resolve) => {
      this.#waiting.set(message.id, resolve);
      this.#send(message);
    });
  }

  /** Runs a line at the REPL; resolves with its value as text (an exception is printed). */
  async repl(code: string): Promise<string | undefined> {
    const m = await this.#ask({ type: "eval", id: this.#next++, code });
    return m.type === "result" ? m.value : undefined;
  }

  /**
   * Runs a line at the REPL and waits for the first line printed from then
   * on that matches `until` (by default a digit's verdict); resolves with it.
   */
  async answer(code = "test()", until: RegExp = /^Predicted/): Promise<string> {
    const from = this.lines.length;
    await this.repl(code);
    return await this.waitFor(until, { from });
  }

  /** Changes how the network behaves from now on. */
  network(settings: NetworkSettings): void {
    this.#send({ type: "network", settings });
  }

  /** Counts that stand in for memory: connections, request buffers, timers. */
  async stats(): Promise<BoardStats> {
    const m = await this.#ask({ type: "stats", id: this.#next++ });
    if (m.type !== "stats") throw new Error("the board answered something else");
    return m.stats;
  }

  /** The lines printed from index `from` on that match `pattern`. */
  matching(pattern: RegExp, from = 0): string[] {
    return this.lines.slice(from).filter((line) => pattern.test(line));
  }

  /**
   * Waits until `count` lines from index `from` on match `pattern`; resolves
   * with the last of them. Rejects after `timeoutMs` of wall time, naming
   * what was printed: a test's safety net, not a measurement.
   */
  waitFor(
    pattern: RegExp,
    options: { from?: number; count?: number; timeoutMs?: number } = {},
  ): Promise<string> {
    const from = options.from ?? 0;
    const count = options.count ?? 1;
    const timeoutMs = options.timeoutMs ?? 20000;
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.#watchers.splice(this.#watchers.indexOf(watcher), 1);
      };
      const watcher = () => {
        const found = this.matching(pattern, from);
        if (found.length < count) return;
        finish();
        resolve(found[count - 1]);
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(
            `no ${count} line(s) matching ${pattern} after ${timeoutMs} ms; ` +
              `the board printed:\n${this.lines.slice(from).join("\n")}`,
          ),
        );
      }, timeoutMs);
      this.#watchers.push(watcher);
      watcher();
    });
  }

  /** Stops the board: its timers, then the Worker (which closes its sockets). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#ask({ type: "stop", id: this.#next++ });
    this.#worker.terminate();
  }
}
