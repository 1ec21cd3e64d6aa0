/**
 * Test helpers: requests built by the generated code on the official
 * `flatbuffers` runtime, the way an independent client (a legacy
 * C++ client among them) builds them, so tests of the lean codec and of the
 * server never check the codec against itself.
 *
 * @example
 * ```ts
 * import { oracleRequest } from "./testing.ts";
 * import { decodeRequest } from "./request_codec.ts";
 *
 * const bytes = oracleRequest({ cmd: 1, requestId: 7, digitU8: new Uint8Array(784) }, false);
 * const request = decodeRequest(bytes);
 * console.log("requestId" in request && request.requestId); // 7
 * ```
 * @module
 */
import * as flatbuffers from "flatbuffers";
import { Commands } from "./generated/mnist-prot/commands.ts";
import { InferenceInput } from "./generated/mnist-prot/inference-input.ts";

/** A `Commands` request built by the generated code; size-prefixed with `MNST` when `framed`. */
export function oracleRequest(
  opts: {
    cmd: number;
    requestId?: number;
    digit?: ArrayLike<number>;
    digitU8?: Uint8Array;
    token?: string;
    model?: string;
    client?: string;
    device?: string;
  },
  framed: boolean,
): Uint8Array {
  const b = new flatbuffers.Builder(4096);
  let input = 0;
  if (opts.digit || opts.digitU8) {
    const digit = opts.digit ? InferenceInput.createDigitVector(b, Array.from(opts.digit)) : 0;
    const digitU8 = opts.digitU8 ? InferenceInput.createDigitU8Vector(b, opts.digitU8) : 0;
    InferenceInput.startInferenceInput(b);
    if (digit) InferenceInput.addDigit(b, digit);
    if (digitU8) InferenceInput.addDigitU8(b, digitU8);
    input = InferenceInput.endInferenceInput(b);
  }
  const token = opts.token ? b.createString(opts.token) : 0;
  const model = opts.model ? b.createString(opts.model) : 0;
  const client = opts.client ? b.createString(opts.client) : 0;
  const device = opts.device ? b.createString(opts.device) : 0;
  Commands.startCommands(b);
  Commands.addCmd(b, opts.cmd);
  if (token) Commands.addToken(b, token);
  if (model) Commands.addModel(b, model);
  if (client) Commands.addClient(b, client);
  if (device) Commands.addDevice(b, device);
  if (input) Commands.addInput(b, input);
  if (opts.requestId) Commands.addRequestId(b, opts.requestId);
  const root = Commands.endCommands(b);
  if (framed) b.finishSizePrefixed(root, "MNST");
  else b.finish(root);
  return b.asUint8Array();
}

/** A legacy C++ client request: one bare buffer with 784 floats (3,180 bytes). */
export function oldClientRequest(digit: ArrayLike<number>): Uint8Array {
  return oracleRequest({ cmd: 1, digit }, false);
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same digits. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
