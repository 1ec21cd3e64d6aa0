/**
 * What the tests of the HTTP port on the listener Workers (`--listeners 2`)
 * share: the check that `--unstable-net` is on (`needUnstableNet`), a quiet
 * server with its HTTP port (`withHttp`), a digit and its JSON infer body
 * (`digit`, `plain`, `json`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { type ServerOptions } from "../options.ts";
import { withServer } from "./server.ts";
import type { InferenceServer } from "../inference_server.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "../listeners/listener_options.ts";

/** Fails the test unless `--unstable-net` is on (the Workers bind with reusePort). */
export function needUnstableNet(): void {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
}

/** `fn` against a quiet server on loopback with its HTTP port, at `base`, shut down after. */
export async function withHttp(
  options: ServerOptions,
  fn: (server: InferenceServer, base: string) => Promise<void>,
): Promise<void> {
  await withServer(
    { httpPort: 0, warmUpMs: 0, ...options },
    (server) => fn(server, `http://127.0.0.1:${server.http!.addr.port}`),
  );
}

/** A digit's 784 pixels, and `plain`, its JSON infer body with the id "seven". */
export const digit = Uint8Array.from({ length: 784 }, (_, i) => (i * 7) % 251 > 120 ? 255 : 0);
export const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
export const plain = json({
  id: "seven",
  inputs: [{ name: "input", datatype: "UINT8", shape: [1, 784], data: [...digit] }],
});
