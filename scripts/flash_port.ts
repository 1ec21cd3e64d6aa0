/**
 * `deno task flash --port` checked before anything is built: a `tcp://`
 * address the tool could connect to (`checkTcpPort`), or a serial device
 * that is there and may be opened (`checkSerialPort`), each refused with one
 * sentence.
 *
 * @module
 */
import { SettingsError } from "../device/settings.ts";
import { FlashError } from "./flash_tool.ts";

/** Whether `--port` is a board's telnet console (`tcp://`) rather than a serial device. */
export function isTcp(port: string): boolean {
  return port.startsWith("tcp://");
}

/** `tcp://HOST[:PORT]`: a name or an IPv4 address, and a port that is a port. */
const TCP_ADDRESS = /^tcp:\/\/([A-Za-z0-9.-]+)(?::(\d+))?$/;

/**
 * Refuses a `tcp://` `--port` the tool could not connect to (a port outside
 * 1..65535, no host, anything after the port) with a `SettingsError` of one
 * sentence: a mistake on the command line, found before anything is built.
 */
export function checkTcpPort(port: string): void {
  const match = TCP_ADDRESS.exec(port);
  if (!match) {
    throw new SettingsError(
      `--port ${port} is not tcp://HOST or tcp://HOST:PORT (an IPv4 address or a name)`,
    );
  }
  const number = match[2] === undefined ? 23 : Number(match[2]);
  if (!(number >= 1 && number <= 65535)) {
    throw new SettingsError(`--port ${port}: port ${match[2]} is not 1..65535`);
  }
}

/**
 * A `--port` that names no serial device: a mistake on the command line
 * (exit 2), where the port's other failures (no permission, no answer) are
 * the machine's or the board's (exit 1).
 */
export class PortError extends FlashError {}

/**
 * Fails early, with a sentence, when `port` is not a serial device: a
 * `PortError` when there is no such file or it is not a character device.
 * Only a missing file is "does not exist": Deno refuses to stat `/dev/tty*`
 * without `--allow-all` (NotCapable), and that must not read as "unplugged".
 */
export async function checkSerialPort(port: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(port);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new PortError(
        `${port} does not exist: is the board plugged in? (ls /dev/ttyUSB* /dev/ttyACM*)`,
      );
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new FlashError(
        `no permission to read ${port}: add yourself to the dialout group ` +
          "(sudo usermod -aG dialout $USER) and log in again",
      );
    }
    if (e instanceof Deno.errors.NotCapable) {
      throw new FlashError(
        `Deno may not open ${port} without --allow-all (run it as deno task flash): ` +
          (e as Error).message,
      );
    }
    throw new FlashError(`cannot use ${port}: ${(e as Error).message}`);
  }
  if (!info.isCharDevice) {
    throw new PortError(`${port} is not a serial device (not a character device)`);
  }
}
