/**
 * Writes every byte of a buffer to a connection: `write` may take only part
 * of it, so the rest is written until none is left. The server's own
 * loopback clients (the warm-up), its tests and the benches use this one.
 *
 * @example
 * ```ts
 * import { writeAll } from "./write_all.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = await listener.accept();
 * await writeAll(client, new Uint8Array([1, 2, 3]));
 * console.log(await server.read(new Uint8Array(8))); // 3
 * client.close();
 * server.close();
 * listener.close();
 * ```
 * @module
 */

/** Writes all of `bytes` (the caller decides whether to await it). */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}
