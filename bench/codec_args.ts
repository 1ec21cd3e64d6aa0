/**
 * `deno task bench:codec`'s flags: the usage text and `parseCodecArgs`,
 * which checks each flag and throws a `UsageError` with one line for the
 * first that is wrong.
 *
 * @example
 * ```ts
 * import { parseCodecArgs } from "./codec_args.ts";
 *
 * const options = parseCodecArgs(["--samples", "31", "--min-ms", "20"]);
 * console.log(options.samples, options.minMs); // 31 20
 * ```
 * @module
 */
import { intFlag, numberFlag } from "./_cli.ts";
import { parseFlags } from "../cli/args.ts";

/** The text `--help` prints. */
export const USAGE = `Usage: deno task bench:codec [options]

Encode, decode and validate per message kind (legacy request, framed u8 request, framed reply,
legacy reply): the lean codec (shared/request_codec.ts, request_writer.ts, reply_codec.ts)
against the official FlatBuffers runtime (shared/generated + npm flatbuffers). Prints median
ns/op and the message sizes.

Options:
  --samples N     timed batches per figure; the median is printed (default 15)
  --min-ms MS     shortest batch, in ms (default 10)
  --json FILE     also write the rows as JSON
  -h, --help      show this help`;

/** The command's options from its arguments. */
export function parseCodecArgs(args: string[]): {
  samples: number;
  minMs: number;
  json?: string;
  help: boolean;
} {
  const { values } = parseFlags({
    args,
    options: {
      samples: { type: "string" },
      "min-ms": { type: "string" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  return {
    samples: intFlag("samples", values.samples, 15, { min: 1, max: 1001 }),
    minMs: numberFlag("min-ms", values["min-ms"], 10, { min: 0.1, max: 10_000 }),
    json: values.json,
    help: values.help ?? false,
  };
}
