/**
 * Raw connection helpers for tests and benches: write every byte, read to the
 * end. No server behind them, so a load generator's Workers import only this.
 *
 * @example
 * ```ts
 * import { readAll, writeAll } from "./conn.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = await listener.accept();
 * await writeAll(client, new Uint8Array([1, 2, 3]));
 * client.close();
 * console.log(await readAll(server)); // Uint8Array(3) [ 1, 2, 3 ]
 * server.close();
 * listener.close();
 * ```
 * @module
 */

/** Reads from a raw connection until it ends (EOF or reset); returns every byte. */
export async function readAll(
  conn: Deno.Conn,
  slow?: { pauseMs: number; readSize: number },
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(slow?.readSize ?? 64 * 1024);
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch {
      n = null;
    }
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    total += n;
    if (slow) await new Promise((r) => setTimeout(r, slow.pauseMs));
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Writes every byte (the caller decides whether to await it). */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}
