/**
 * Reading a raw connection to its end, for tests and benches. No server
 * behind it, so a load generator's Workers import only this.
 *
 * @example
 * ```ts
 * import { readAll } from "./conn.ts";
 * import { writeAll } from "../write_all.ts";
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
import { concatBytes } from "../../shared/bytes.ts";

/** Reads from a raw connection until it ends (EOF or reset); returns every byte. */
export async function readAll(
  conn: Deno.Conn,
  slow?: { pauseMs: number; readSize: number },
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
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
    if (slow) await new Promise((r) => setTimeout(r, slow.pauseMs));
  }
  return concatBytes(chunks);
}
