/**
 * A self-signed certificate for tests, made at test time by `openssl` (Debian's,
 * installed by `.ci/run`) for localhost, 127.0.0.1 and ::1, valid one day.
 *
 * @example
 * ```ts
 * import { selfSignedCertificate } from "./tls_cert.ts";
 * import { findTool } from "../testing/tools.ts";
 *
 * // Tests that need it are skipped where openssl is missing; so is this example.
 * if (findTool("openssl")) {
 *   const { cert, key, dir } = await selfSignedCertificate();
 *   const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
 *   const accepted = listener.accept();
 *   const client = await Deno.connectTls({
 *     hostname: "127.0.0.1",
 *     port: listener.addr.port,
 *     caCerts: [cert],
 *   });
 *   const server = await accepted;
 *   await Promise.all([client.handshake(), server.handshake()]); // the client trusts it
 *   client.close();
 *   server.close();
 *   listener.close();
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 * @module
 */
import type { TlsFiles } from "../tls/tls.ts";

/** A certificate, its key and the folder holding `cert.pem` and `key.pem` (remove it after). */
export async function selfSignedCertificate(): Promise<TlsFiles & { dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "mnist-tls-" });
  const { code, stderr } = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
      // rustls refuses a CA certificate presented as the server's own.
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-addext",
      "extendedKeyUsage=serverAuth",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`openssl failed: ${new TextDecoder().decode(stderr)}`);
  return {
    dir,
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
}
