/**
 * TLS for clients that can do it (ESP32 boards, desktop programs; the
 * ESP8266 cannot): the certificate and key files of `--tls-cert`/`--tls-key`,
 * read once at start with errors that name the file, and the framed board
 * port's TLS listener (`--tls-port`). The HTTP port takes the same files
 * through `Deno.serve({ cert, key })`.
 *
 * @example
 * ```ts
 * import { listenTls, readTlsFiles, TlsError } from "./tls.ts";
 *
 * // What the server does with --tls-cert, --tls-key and --tls-port.
 * async function serveTls(certPath: string, keyPath: string, port: number) {
 *   const files = await readTlsFiles(certPath, keyPath);
 *   const boards = listenTls("0.0.0.0", port, files); // the board protocols run inside
 *   const http = Deno.serve({ port: 0, ...files }, () => new Response("ok"));
 *   return { boards, http };
 * }
 *
 * // A file that is not what its flag needs is refused with a sentence naming it.
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/cert.pem`, "not a certificate");
 * const error = await serveTls(`${dir}/cert.pem`, `${dir}/key.pem`, 0).catch((e) => e);
 * console.log(error instanceof TlsError, error.message);
 * // true --tls-cert /tmp/.../cert.pem: no PEM certificate in the file
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */

/** A certificate chain and its private key, PEM text. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** A certificate or key that cannot be used; the message says which file and why. */
export class TlsError extends Error {
  override name = "TlsError";
}

async function readPem(flag: string, path: string, kind: RegExp, what: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new TlsError(`${flag} ${path}: ${(e as Error).message}`);
  }
  if (!kind.test(text)) throw new TlsError(`${flag} ${path}: no PEM ${what} in the file`);
  return text;
}

/** Reads `--tls-cert` and `--tls-key`; a `TlsError` names a missing file or one that is not PEM. */
export async function readTlsFiles(certPath: string, keyPath: string): Promise<TlsFiles> {
  return {
    cert: await readPem("--tls-cert", certPath, /-----BEGIN CERTIFICATE-----/, "certificate"),
    key: await readPem("--tls-key", keyPath, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, "private key"),
  };
}

/** Listens for TLS connections; a certificate or key the TLS library refuses is a `TlsError`. */
export function listenTls(
  hostname: string,
  port: number,
  files: TlsFiles,
  reusePort = false,
): Deno.TlsListener {
  try {
    // reusePort: a listener Worker beside others on one port (--listeners; needs --unstable-net).
    const shared = reusePort ? { reusePort } : {};
    return Deno.listenTls({ hostname, port, cert: files.cert, key: files.key, ...shared });
  } catch (e) {
    if (e instanceof Deno.errors.InvalidData) {
      throw new TlsError(`the TLS certificate or key cannot be used: ${e.message}`);
    }
    throw e;
  }
}
