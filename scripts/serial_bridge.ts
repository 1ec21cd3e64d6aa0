/**
 * A serial port offered as a TCP port on loopback, for the Espruino tool.
 *
 * The tool's serial path (npm `serialport`) loads under Deno and opens the
 * port, but every read and write then fails with EBADF: it hands the native
 * file descriptor to `node:fs`, which in Deno knows only its own resources.
 * Its telnet path (`tcp://`) works. So `deno task flash` sets the port's
 * speed with `stty` (coreutils), opens the device as a plain file, and
 * relays bytes between it and one TCP connection at a time on 127.0.0.1;
 * the tool connects there as to a board's telnet console.
 *
 * Needs `--allow-all` (Deno lets a program open `/dev/tty*` only with every
 * permission), `stty` (Linux and macOS; not on Windows), and read and write
 * access to the device (Linux: the `dialout` group).
 *
 * @example
 * ```ts
 * import { SerialBridge, SerialBridgeError } from "./serial_bridge.ts";
 *
 * // What `deno task flash --port /dev/ttyUSB0` does before it starts the Espruino tool.
 * export async function bridge(device: string): Promise<SerialBridge> {
 *   const bridge = await SerialBridge.open(device, 115200);
 *   console.log(`tcp://127.0.0.1:${bridge.port}`); // give this to the Espruino tool
 *   return bridge; // bridge.close() once the tool is done
 * }
 *
 * // A device that is not there is one sentence, not a stack trace.
 * const missing = await SerialBridge.open("/dev/ttyNOSUCH9", 115200).catch((e) => e);
 * console.log(missing instanceof SerialBridgeError, missing.message);
 * // true stty cannot set /dev/ttyNOSUCH9 to 115200 baud: ...
 * ```
 * @module
 */

/** A serial port that could not be set up, with a sentence saying why. */
export class SerialBridgeError extends Error {}

/** A serial device relayed to a TCP port on 127.0.0.1. */
export class SerialBridge {
  /** The TCP port the relay listens on. */
  readonly port: number;
  /** Two handles: Deno queues a write behind a pending read on one handle, which never ends. */
  #reader: Deno.FsFile;
  #writer: Deno.FsFile;
  #listener: Deno.TcpListener;
  #conn: Deno.TcpConn | null = null;
  #closed = false;

  private constructor(reader: Deno.FsFile, writer: Deno.FsFile, listener: Deno.TcpListener) {
    this.#reader = reader;
    this.#writer = writer;
    this.#listener = listener;
    this.port = listener.addr.port;
    this.#accept();
    this.#fromDevice();
  }

  /** Sets `path` to `baud`, 8N1, raw (no echo, no line editing), opens it and starts the relay. */
  static async open(path: string, baud: number): Promise<SerialBridge> {
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("stty", {
        // GNU stty names the device with -F, BSD's (macOS) with -f.
        args: [
          Deno.build.os === "linux" ? "-F" : "-f",
          path,
          String(baud),
          "raw",
          "-echo",
          "cs8",
          "-cstopb",
          "-parenb",
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
    } catch (e) {
      throw new SerialBridgeError(`cannot run stty to set ${path}: ${(e as Error).message}`);
    }
    if (!out.success) {
      const why = new TextDecoder().decode(out.stderr).trim();
      throw new SerialBridgeError(`stty cannot set ${path} to ${baud} baud: ${why}`);
    }
    let reader: Deno.FsFile;
    let writer: Deno.FsFile;
    try {
      reader = await Deno.open(path, { read: true });
      writer = await Deno.open(path, { write: true });
    } catch (e) {
      if (e instanceof Deno.errors.PermissionDenied) {
        throw new SerialBridgeError(
          `no permission to open ${path}: add yourself to the dialout group ` +
            "(sudo usermod -aG dialout $USER) and log in again",
        );
      }
      throw new SerialBridgeError(`cannot open ${path}: ${(e as Error).message}`);
    }
    return new SerialBridge(reader, writer, Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  }

  /** One connection at a time: the tool connects once per call. */
  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conn?.close();
        this.#conn = conn;
        conn.setNoDelay(true);
        this.#toDevice(conn);
      }
    } catch {
      // the listener was closed
    }
  }

  async #toDevice(conn: Deno.TcpConn): Promise<void> {
    const buf = new Uint8Array(4096);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        for (let at = 0; at < n;) at += await this.#writer.write(buf.subarray(at, n));
      }
    } catch {
      // the connection or the device went away
    }
    if (this.#conn === conn) this.#conn = null;
    try {
      conn.close();
    } catch {
      // already closed
    }
  }

  async #fromDevice(): Promise<void> {
    const buf = new Uint8Array(4096);
    try {
      for (;;) {
        const n = await this.#reader.read(buf);
        if (n === null || this.#closed) break;
        const conn = this.#conn;
        // Nobody listening: what the board says between calls is dropped.
        if (!conn) continue;
        try {
          for (let at = 0; at < n;) at += await conn.write(buf.subarray(at, n));
        } catch {
          // the tool hung up
        }
      }
    } catch {
      // the device went away (unplugged, or the pty's other end closed)
    }
  }

  /** Stops relaying and closes the device. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const closable of [this.#listener, this.#conn, this.#writer, this.#reader]) {
      try {
        closable?.close();
      } catch {
        // already closed
      }
    }
  }
}
