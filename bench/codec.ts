/**
 * `deno task bench:codec`: encode, decode and validate, per message kind, with
 * the lean codec (`shared/request_codec.ts`, `shared/request_writer.ts`,
 * `shared/reply_codec.ts`, which the board and the server run) against the
 * official FlatBuffers runtime (flatc's code in `shared/generated/` and npm
 * `flatbuffers`: `codec_official.ts`). Prints median ns per operation over
 * `--samples` timed batches, and the message sizes each codec produces.
 *
 * The operations:
 * - encode: lean `encodeRequest`/`encodeReply`/`encodeLegacyReply` (a new
 *   buffer each time); "encode (refill)" is lean `InferenceRequestWriter`
 *   rewriting one buffer in place, as the board does. Official: a reused
 *   `flatbuffers.Builder` (`clear()`, then the generated `create…`/`add…`).
 * - decode: every field a reader needs. Lean copies float vectors out through
 *   bounds-checked reads; official returns views (`digitArray()`) with no checks.
 * - validate: refusing the same message cut short by 8 bytes. Lean returns a
 *   `MALFORMED_BUFFER` error; the official JavaScript runtime has no verifier,
 *   so there is nothing to time ("—"): it reads past the end or returns zeros.
 *
 * @example
 * ```sh
 * deno task bench:codec
 * deno task bench:codec --samples 31 --min-ms 20 --json /tmp/codec.json
 * ```
 *
 * ```ts
 * import { measureCodecs } from "./codec.ts";
 *
 * const rows = measureCodecs({ samples: 3, minMs: 1 });
 * console.log(rows[0]); // { kind: "legacy request", op: "encode", leanNs: ..., officialNs: ... }
 * ```
 * @module
 */
import * as flatbuffers from "flatbuffers";
import { Command } from "../shared/codec.ts";
import { decodeReply, encodeLegacyReply, encodeReply } from "../shared/reply_codec.ts";
import { decodeRequest, encodeRequest } from "../shared/request_codec.ts";
import { InferenceRequestWriter } from "../shared/request_writer.ts";
import { WireError } from "../shared/errors.ts";
import { Commands } from "../shared/generated/mnist-prot/commands.ts";
import { formatTable, parseOrExit } from "./_cli.ts";
import { parseCodecArgs, USAGE } from "./codec_args.ts";
import { OfficialMessages } from "./codec_official.ts";
import { type CodecRow, type CodecSizes, formatCodecTable } from "./codec_report.ts";
import { syntheticDigits } from "./digits.ts";
import { median } from "./stats.ts";

/** How long to time: `samples` batches, each at least `minMs` long. */
export interface CodecOptions {
  samples?: number;
  minMs?: number;
  onProgress?: (text: string) => void;
}

/** Keeps results alive so the optimiser cannot drop the work. */
let sink = 0;

/**
 * Median ns per call of `fn` over `samples` batches; each batch runs enough
 * calls to last at least `minMs`.
 */
export function timeOp(fn: () => number, samples: number, minMs: number): number {
  let n = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < n; i++) sink += fn();
    if (performance.now() - t >= minMs || n >= 1 << 26) break;
    n *= 2;
  }
  const perOp: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) sink += fn();
    perOp.push(((performance.now() - t) * 1e6) / n);
  }
  return median(perOp);
}

/** Copies into a fresh, 4-aligned buffer, as bytes read from a socket would be. */
function own(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}

/** Times every kind and operation with both codecs; also returns the sizes. */
export function measureCodecs(options: CodecOptions = {}): CodecRow[] & { sizes: CodecSizes[] } {
  const samples = options.samples ?? 15;
  const minMs = options.minMs ?? 10;
  const progress = options.onProgress ?? (() => {});
  const time = (fn: () => number) => timeOp(fn, samples, minMs);
  const digitU8 = syntheticDigits(1).digits[0];
  const digit = Float32Array.from(digitU8, (b) => b / 255);
  const scores = Float32Array.from({ length: 10 }, (_, i) => (i === 3 ? 0.91 : 0.01));
  const official = new OfficialMessages();
  const rows: CodecRow[] = [];
  const sizes: CodecSizes[] = [];
  const cut = (bytes: Uint8Array) => bytes.slice(0, bytes.length - 8);
  // Counts 1 per refusal; the cut copy is made once, outside the timing.
  const rejectLean = (bytes: Uint8Array, decode: (b: Uint8Array) => unknown) => () =>
    decode(bytes) instanceof WireError ? 1 : 0;

  // Legacy request: Commands{cmd: 1, input: {digit: 784 floats}}, bare.
  progress("legacy request");
  {
    const lean = encodeRequest({ command: Command.INFERENCE_INPUT, digit }, false);
    const off = own(official.legacyRequest(digit));
    sizes.push({ kind: "legacy request", leanBytes: lean.length, officialBytes: off.length });
    const writer = new InferenceRequestWriter(false, false);
    rows.push(
      {
        kind: "legacy request",
        op: "encode",
        leanNs: time(() => encodeRequest({ command: 1, digit }, false).length),
        officialNs: time(() => official.legacyRequest(digit).length),
      },
      {
        kind: "legacy request",
        op: "encode (refill)",
        leanNs: time(() => writer.write(0, digitU8).length),
        officialNs: null,
      },
      {
        kind: "legacy request",
        op: "decode",
        leanNs: time(() => {
          const r = decodeRequest(lean);
          return r instanceof WireError ? 0 : r.digit![100];
        }),
        officialNs: time(() => {
          const c = Commands.getRootAsCommands(new flatbuffers.ByteBuffer(off));
          return c.cmd() + c.requestId() + c.input()!.digitArray()![100];
        }),
      },
      {
        kind: "legacy request",
        op: "validate",
        leanNs: time(rejectLean(cut(lean), decodeRequest)),
        officialNs: null,
      },
    );
  }

  // Framed u8 request: [size]Commands{cmd: 1, request_id, input: {digit_u8}} with MNST.
  progress("framed u8 request");
  {
    const lean = encodeRequest({ command: 1, requestId: 7, digitU8 }, true);
    const off = own(official.framedRequest(7, digitU8));
    sizes.push({ kind: "framed u8 request", leanBytes: lean.length, officialBytes: off.length });
    const payload = lean.subarray(4);
    const writer = new InferenceRequestWriter(true, true);
    let id = 0;
    rows.push(
      {
        kind: "framed u8 request",
        op: "encode",
        leanNs: time(() => encodeRequest({ command: 1, requestId: ++id, digitU8 }, true).length),
        officialNs: time(() => official.framedRequest(++id, digitU8).length),
      },
      {
        kind: "framed u8 request",
        op: "encode (refill)",
        leanNs: time(() => writer.write(++id, digitU8).length),
        officialNs: null,
      },
      {
        kind: "framed u8 request",
        op: "decode",
        leanNs: time(() => {
          const r = decodeRequest(payload);
          return r instanceof WireError ? 0 : r.requestId + r.digitU8![100];
        }),
        officialNs: time(() => {
          const c = Commands.getSizePrefixedRootAsCommands(new flatbuffers.ByteBuffer(off));
          return c.cmd() + c.requestId() + c.input()!.digitU8Array()![100];
        }),
      },
      {
        kind: "framed u8 request",
        op: "validate",
        leanNs: time(rejectLean(cut(payload), decodeRequest)),
        officialNs: null,
      },
    );
  }

  // Framed reply: [size]Commands{cmd: 2, request_id, output: {scores, n, timer, predicted, queue, batch}}.
  progress("framed reply");
  {
    const reply = {
      command: Command.INFERENCE_OUTPUT,
      requestId: 7,
      scores,
      predicted: 3,
      inferenceMs: 0.31,
      queueMs: 1.5,
      batchSize: 17,
    };
    const lean = encodeReply(reply, true);
    const off = own(official.framedReply(7, scores));
    sizes.push({ kind: "framed reply", leanBytes: lean.length, officialBytes: off.length });
    const payload = lean.subarray(4);
    const out = new Float32Array(10);
    rows.push(
      {
        kind: "framed reply",
        op: "encode",
        leanNs: time(() => encodeReply(reply, true).length),
        officialNs: time(() => official.framedReply(7, scores).length),
      },
      {
        kind: "framed reply",
        op: "decode",
        leanNs: time(() => {
          const r = decodeReply(payload, out);
          return r instanceof WireError ? 0 : r.requestId + r.scores![3] + r.batchSize;
        }),
        officialNs: time(() => {
          const c = Commands.getSizePrefixedRootAsCommands(new flatbuffers.ByteBuffer(off));
          const o = c.output()!;
          return c.cmd() + c.requestId() + c.status() + o.outputFArray()![3] + o.outputN() +
            o.timerMs() + o.predicted() + o.queueMs() + o.batchSize();
        }),
      },
      {
        kind: "framed reply",
        op: "validate",
        leanNs: time(rejectLean(cut(payload), decodeReply)),
        officialNs: null,
      },
    );
  }

  // Legacy reply: Commands{cmd: 2, output: {scores, n, timer}}, bare, always 96 bytes.
  progress("legacy reply");
  {
    const lean = encodeLegacyReply(scores, 0.31);
    const off = own(official.legacyReply(scores));
    sizes.push({ kind: "legacy reply", leanBytes: lean.length, officialBytes: off.length });
    const out = new Float32Array(10);
    rows.push(
      {
        kind: "legacy reply",
        op: "encode",
        leanNs: time(() => encodeLegacyReply(scores, 0.31).length),
        officialNs: time(() => official.legacyReply(scores).length),
      },
      {
        kind: "legacy reply",
        op: "decode",
        leanNs: time(() => {
          const r = decodeReply(lean, out);
          return r instanceof WireError ? 0 : r.scores![3] + r.inferenceMs;
        }),
        officialNs: time(() => {
          const c = Commands.getRootAsCommands(new flatbuffers.ByteBuffer(off));
          const o = c.output()!;
          return c.cmd() + o.outputFArray()![3] + o.outputN() + o.timerMs();
        }),
      },
      {
        kind: "legacy reply",
        op: "validate",
        leanNs: time(rejectLean(cut(lean), decodeReply)),
        officialNs: null,
      },
    );
  }
  if (sink === 42) console.log(""); // Uses the sink.
  return Object.assign(rows, { sizes });
}

function main(): void {
  const options = parseOrExit("bench:codec", parseCodecArgs, Deno.args, USAGE);
  const rows = measureCodecs({
    ...options,
    onProgress: (kind) => console.error(`timing ${kind} ...`),
  });
  console.log(`Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ${Deno.build.os}`);
  console.log(formatCodecTable(rows));
  console.log("");
  console.log(formatTable(
    ["message", "lean bytes", "official bytes"],
    rows.sizes.map((s) => [s.kind, s.leanBytes, s.officialBytes]),
  ));
  if (options.json) {
    Deno.writeTextFileSync(
      options.json,
      JSON.stringify({ rows: [...rows], sizes: rows.sizes }, null, 2) + "\n",
    );
  }
}

if (import.meta.main) main();
