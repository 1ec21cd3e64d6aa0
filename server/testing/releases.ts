/**
 * Helpers for tests of board code updates: a firmware folder with releases in
 * it (written as `deno task build --release` writes them), a board that
 * introduces itself on a framed connection, and the admin's HTTP calls.
 *
 * @example
 * ```ts
 * import { fakeFirmware, releaseDir } from "./releases.ts";
 *
 * const dir = await releaseDir({ "1.0.1": fakeFirmware(1300, 1) });
 * console.log(dir); // /tmp/... holding mnist-device/1.0.1/firmware.js and release.json
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { InferenceClient } from "../../client/client.ts";
import { Command } from "../../shared/codec.ts";
import { type DecodedReply } from "../../shared/reply_codec.ts";
import { prng } from "../../shared/testing.ts";
import { writeRelease } from "../fleet/releases.ts";
import type { InferenceServer } from "../inference_server.ts";

/**
 * The firmware name boards send in `client`, as `device/build.ts`'s
 * `clientName` spells it (device/build_test.ts holds them together).
 */
export const NAME = "mnist-device";

/** `length` bytes of printable JavaScript-looking text, the same for the same seed. */
export function fakeFirmware(length: number, seed: number): string {
  const next = prng(seed);
  let code = "";
  while (code.length < length) code += String.fromCharCode(32 + Math.floor(next() * 95));
  return code;
}

/** A temporary `--firmware-dir` holding a release per version, with its code. */
export async function releaseDir(versions: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mnist-firmware-" });
  for (const [version, code] of Object.entries(versions)) {
    await writeRelease(dir, `${NAME} ${version}`, code);
  }
  return dir;
}

/** A board on a framed connection: its first request says who it is and what it runs. */
export class TestBoard {
  readonly client: InferenceClient;
  readonly id: string;
  #firmware: string;
  #introduced = false;

  private constructor(client: InferenceClient, id: string, firmware: string) {
    this.client = client;
    this.id = id;
    this.#firmware = firmware;
  }

  static async connect(
    server: InferenceServer,
    id: string,
    version: string,
    token?: string,
  ): Promise<TestBoard> {
    const client = await InferenceClient.connect(
      { hostname: "127.0.0.1", port: server.addr.port },
      { token },
    );
    return new TestBoard(client, id, `${NAME} ${version}`);
  }

  /** One inference; the reply may carry an offer. */
  infer(): Promise<DecodedReply> {
    const first = !this.#introduced;
    this.#introduced = true;
    return this.client.send({
      command: Command.INFERENCE_INPUT,
      digitU8: new Uint8Array(784).fill(9),
      device: first ? this.id : undefined,
      client: first ? this.#firmware : undefined,
    });
  }

  /** Asks for the chunk of `release` at `offset`. */
  chunk(release: string, offset: number): Promise<DecodedReply> {
    return this.client.send({ command: Command.CODE_CHUNK, chunk: { release, offset } });
  }

  /** Reports `state` (`UpdateState`) of `release`, with a reason. */
  report(release: string, state: number, reason = ""): Promise<DecodedReply> {
    return this.client.send({
      command: Command.UPDATE_REPORT,
      update: { release, state },
      error: reason,
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Calls the server's HTTP port with a bearer token; the status and the JSON answer. */
export async function callHttp(
  server: InferenceServer,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`http://127.0.0.1:${server.http!.addr.port}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
