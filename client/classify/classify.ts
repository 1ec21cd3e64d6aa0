/**
 * `deno task classify FILE...`: classifies pictures of handwritten digits
 * through a running server. Each picture (JPEG, PNG, PGM, or `-` for
 * standard input; any size; dark on light or light on dark; a phone photo
 * of paper will do) has its ink found (`../ink.ts`), is made into a 28×28
 * digit the way MNIST was made (`../preprocess.ts`), sent framed, and the
 * answer printed: the digit, its score, the ten scores and the 28×28
 * picture as text shading, so you see what the model saw. An answer whose
 * score is below `--min-score` says "unsure". `--json` prints one JSON
 * object per picture, one per line, for programs.
 *
 * Exit codes: 0 every picture classified, each at least `--min-score`;
 * 1 a picture could not be read or had no digit ("no digit found"), or the
 * server failed (the other pictures are still classified); 2 a mistake on
 * the command line (a FILE that is not there too, said before the server is
 * asked anything); 3 every picture classified, but at least one answer is
 * unsure (below `--min-score`). 1 wins over 3.
 *
 * @example
 * ```sh
 * deno task serve &
 * deno task classify my_digit.png
 * deno task classify --server 192.168.1.10:32001 --json a.png b.pgm
 * deno task classify --min-score 0.9 photo.jpg || echo "exit $? (3: unsure)"
 * convert scan.tiff pgm:- | deno task classify -
 * ```
 * @module
 */
import { parseFlags, parseHostPort, tokenFlag, UsageError, usageLine } from "../../cli/args.ts";
import { Command } from "../../shared/codec.ts";
import { type DecodedReply } from "../../shared/reply_codec.ts";
import { statusName } from "../../shared/errors.ts";
import { tableDefault } from "../../server/config.ts";
import { InferenceClient } from "../client.ts";
import { type GreyPicture, PictureError } from "../picture.ts";
import { decodePgm, mnistDigit, shading } from "../preprocess.ts";
import { decodeJpegGrey, isJpeg } from "./jpeg.ts";
import { decodePngGrey, isPng } from "./png.ts";

/** The board port a `--server` without a port means: the server's default. */
const DEFAULT_PORT = tableDefault("port");
const DEFAULT_SERVER = `127.0.0.1:${DEFAULT_PORT}`;
/** Below this score an answer is "unsure" (exit 3). */
const DEFAULT_MIN_SCORE = 0.8;

/** The exit codes, as the module's documentation and --help say. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unsure: 3 } as const;

const USAGE = `deno task classify [flags] FILE...

Classifies pictures of handwritten digits through a running server. FILE is a JPEG, PNG
or PGM picture of one digit (a phone photo of paper will do), any size, dark on light or
light on dark, or - for standard input. The ink is found (paper, light and shadows taken
out, specks ignored), prepared as MNIST was (cropped, scaled to 20 px, centred by its
centre of mass in 28x28) and the answer printed with the 28x28 picture the model saw.

  --server HOST:PORT   where the server listens (default ${DEFAULT_SERVER}; env MNIST_SERVER)
  --token T            the device token, when the server has tokens on (env MNIST_TOKEN)
  --model NAME         the model to ask (default: the server's default; env MNIST_MODEL)
  --min-score S        below this score (0..1) the answer says "unsure" (default
                       ${DEFAULT_MIN_SCORE}; env MNIST_MIN_SCORE)
  --json               one JSON object per picture, one per line
  --help               this text

Exit codes: 0 all classified, each at least --min-score; 1 a picture could not be read
or had no digit ("no digit found"), or the server failed; 2 a mistake on the command
line (a FILE that is not there too); 3 all classified, but at least one answer unsure.`;

/** What one picture came to. */
export interface Classification {
  file: string;
  predicted: number;
  score: number;
  scores: number[];
  /** Whether the score is at least `--min-score`. */
  sure: boolean;
  /** The 28×28 digit the model saw, 784 values 0..255 (ink light), row-major. */
  digit: number[];
}

function parse(args: string[]) {
  const parsed = parseFlags({
    args,
    options: {
      server: { type: "string" },
      token: { type: "string" },
      model: { type: "string" },
      "min-score": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  const v = parsed.values;
  const server = v.server ?? Deno.env.get("MNIST_SERVER") ?? DEFAULT_SERVER;
  let address;
  try {
    address = parseHostPort(server, DEFAULT_PORT);
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(`--server: ${e.message}`);
    throw e;
  }
  const minText = v["min-score"] ?? Deno.env.get("MNIST_MIN_SCORE");
  const minScore = minText === undefined ? DEFAULT_MIN_SCORE : Number(minText);
  if (minText !== undefined && !(minText.trim() !== "" && minScore >= 0 && minScore <= 1)) {
    throw new UsageError(`--min-score "${minText}" is not a score from 0 to 1`);
  }
  return {
    help: !!v.help,
    minScore,
    json: !!v.json,
    address,
    token: tokenFlag(v.token ?? Deno.env.get("MNIST_TOKEN")) ?? "",
    model: v.model ?? Deno.env.get("MNIST_MODEL") ?? "",
    files: parsed.positionals,
  };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Where `file` is: `deno task` runs in the project's folder, so a relative
 * name is taken from the folder the person typed it in (`INIT_CWD`).
 */
function located(file: string): string {
  const from = Deno.env.get("INIT_CWD");
  return from && !file.startsWith("/") ? `${from}/${file}` : file;
}

/** Why `file` names no picture file (it is not there, or is a folder), or null. */
function notThere(file: string): string | null {
  if (file === "-") return null;
  try {
    if (Deno.statSync(located(file)).isDirectory) return `${file} is a folder, not a picture`;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return `${file}: no such file`;
    }
  }
  return null;
}

/** Reads and decodes one picture: JPEG or PNG by its signature, else PGM. */
export async function readPicture(file: string): Promise<GreyPicture> {
  let bytes: Uint8Array;
  try {
    bytes = file === "-" ? await readAll(Deno.stdin.readable) : await Deno.readFile(located(file));
  } catch (e) {
    throw new PictureError(`cannot read it: ${(e as Error).message}`);
  }
  if (bytes.length === 0) throw new PictureError("it is empty");
  if (isPng(bytes)) return decodePngGrey(bytes);
  if (isJpeg(bytes)) return decodeJpegGrey(bytes);
  if (bytes[0] === 0x50 && (bytes[1] === 0x35 || bytes[1] === 0x32)) return decodePgm(bytes);
  throw new PictureError("not a JPEG, PNG or PGM picture");
}

/** The answer for people: verdict, scores, the picture. */
export function describe(c: Classification, minScore: number): string {
  const scores = c.scores.map((s, i) => `${i}: ${s.toFixed(4)}`).join("  ");
  const unsure = c.sure ? "" : `, unsure: below --min-score ${minScore}`;
  return `${c.file}: ${c.predicted} (score ${c.score.toFixed(4)}${unsure})\n${scores}\n` +
    `${shading(c.digit)}\n`;
}

/** `deno task classify`: returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let options;
  try {
    options = parse(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(usageLine("classify", e.message));
    return EXIT.usage;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (options.files.length === 0) {
    console.error("classify: name at least one FILE (JPEG, PNG, PGM, or - for standard input)");
    return EXIT.usage;
  }
  // A FILE that is not there is a mistake on the command line, said before any connection.
  const missing = options.files.map(notThere).find((sentence) => sentence !== null);
  if (missing) {
    console.error(`classify: ${missing}`);
    return EXIT.usage;
  }
  const where = `${options.address.host}:${options.address.port}`;
  let client: InferenceClient;
  try {
    client = await InferenceClient.connect({
      hostname: options.address.host,
      port: options.address.port,
    });
  } catch (e) {
    console.error(`classify: cannot reach the server at ${where}: ${(e as Error).message}`);
    return EXIT.failed;
  }
  let failed = 0, unsure = 0;
  try {
    for (const file of options.files) {
      const name = file === "-" ? "(stdin)" : file;
      let digit: Uint8Array;
      try {
        digit = mnistDigit(await readPicture(file));
      } catch (e) {
        if (!(e instanceof PictureError)) throw e;
        console.error(`classify: ${name}: ${e.message}`);
        failed++;
        continue;
      }
      let reply: DecodedReply;
      try {
        reply = await client.send({
          command: Command.INFERENCE_INPUT,
          digitU8: digit,
          token: options.token || undefined,
          model: options.model || undefined,
        });
      } catch (e) {
        console.error(`classify: the server at ${where} failed: ${(e as Error).message}`);
        return EXIT.failed;
      }
      if (reply.status !== 0 || !reply.scores) {
        console.error(`classify: ${name}: ${statusName(reply.status)}: ${reply.error}`);
        failed++;
        continue;
      }
      const scores = Array.from(reply.scores);
      const best = scores.indexOf(Math.max(...scores));
      const c: Classification = {
        file: name,
        predicted: best,
        score: scores[best],
        sure: scores[best] >= options.minScore,
        scores,
        digit: Array.from(digit),
      };
      if (!c.sure) unsure++;
      console.log(options.json ? JSON.stringify(c) : describe(c, options.minScore));
    }
  } finally {
    client.close();
  }
  return failed ? EXIT.failed : unsure ? EXIT.unsure : EXIT.ok;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
