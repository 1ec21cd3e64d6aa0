/**
 * Which model version answers each board, for tests of canaries, promote
 * and rollback on a real server: every board asks on a framed connection of
 * its own, naming itself, for a digit with a bar of ink.
 *
 * @example
 * ```ts
 * import { versionsByBoard } from "./board_versions.ts";
 * import { withServer } from "./server.ts";
 *
 * await withServer({}, async (_server, { port }) => {
 *   console.log(await versionsByBoard(port, ["kitchen"])); // Map { "kitchen" => [ 1, 1 ] }
 * });
 * ```
 * @module
 */
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { Command } from "../../shared/codec.ts";
import { Status } from "../../shared/errors.ts";

/** A digit with a vertical bar of ink (columns 11 to 15), the one digit the boards ask. */
export const ink = Uint8Array.from(
  { length: 784 },
  (_, i) => (i % 28 > 10 && i % 28 < 16 ? 255 : 0),
);

/** The versions that answered each board (one connection each, two digits). */
export async function versionsByBoard(
  port: number,
  boards: string[],
): Promise<Map<string, number[]>> {
  const seen = new Map<string, number[]>();
  await Promise.all(boards.map(async (device) => {
    const client = await InferenceClient.connect({ hostname: "127.0.0.1", port });
    try {
      const replies = await Promise.all(
        [0, 1].map(() => client.send({ command: Command.INFERENCE_INPUT, digitU8: ink, device })),
      );
      assert.ok(replies.every((r) => r.status === Status.OK));
      seen.set(device, replies.map((r) => r.modelVersion!));
    } finally {
      client.close();
    }
  }));
  return seen;
}
