/**
 * `deno task classify FILE...`: classifies pictures of handwritten digits
 * through a running server. Each picture (PNG, PGM, or `-` for standard
 * input; any size; dark on light or light on dark) is made into a 28×28
 * digit the way MNIST was made (`preprocess.ts`), sent framed, and the
 * answer printed: the digit, its score, the ten scores and the 28×28
 * picture as text shading, so you see what the model saw. `--json` prints
 * one JSON object per picture, one per line, for programs.
 *
 * Exit codes: 0 all classified; 1 a picture or the server failed (the
 * others are still classified); 2 a mistake on the command line.
 *
 * @example
 * ```sh
 * deno task serve &
 * deno task classify my_digit.png
 * deno task classify --server 192.168.1.10:32001 --json a.png b.pgm
 * convert photo.jpg pgm:- | deno task classify -
 * ```
 * @module
 */
import { parseFlags, UsageError, usageLine } from "../../cli/args.ts";
import { Command, type DecodedReply } from "../../shared/codec.ts";
import { statusName } from "../../shared/errors.ts";
import { parseServer, SettingsError } from "../../device/settings.ts";
import { InferenceClient } from "../client.ts";
import { decodePgm, type GreyPicture, mnistDigit, PictureError, shading } from "../preprocess.ts";
import { decodePngGrey, isPng } from "./png.ts";

const DEFAULT_SERVER = "127.0.0.1:32001";

const USAGE = `deno task classify [flags] FILE...

Classifies pictures of handwritten digits through a running server. FILE is a PNG or PGM
picture of one digit, any size, dark on light or light on dark, or - for standard input.
Each is prepared as MNIST was (grey, ink light on black, cropped, scaled to 20 px, centred
by its centre of mass in 28x28) and the answer printed with the 28x28 picture the model saw.

  --server HOST:PORT   where the server listens (default ${DEFAULT_SERVER}; env MNIST_SERVER)
  --token T            the device token, when the server has tokens on (env MNIST_TOKEN)
  --model NAME         the model to ask (default: the server's default; env MNIST_MODEL)
  --json               one JSON object per picture, one per line
  --help               this text`;

/** What one picture came to. */
export interface Classification {
  file: string;
  predicted: number;
  score: number;
  scores: number[];
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
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  const v = parsed.values;
  const server = v.server ?? Deno.env.get("MNIST_SERVER") ?? DEFAULT_SERVER;
  let address;
  try {
    address = parseServer(server);
  } catch (e) {
    if (e instanceof SettingsError) throw new UsageError(`--server: ${e.message}`);
    throw e;
  }
  return {
    help: !!v.help,
    json: !!v.json,
    address,
    token: v.token ?? Deno.env.get("MNIST_TOKEN") ?? "",
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

/** Reads and decodes one picture: PNG by its signature, else PGM. */
export async function readPicture(file: string): Promise<GreyPicture> {
  let bytes: Uint8Array;
  try {
    bytes = file === "-" ? await readAll(Deno.stdin.readable) : await Deno.readFile(located(file));
  } catch (e) {
    throw new PictureError(`cannot read it: ${(e as Error).message}`);
  }
  if (bytes.length === 0) throw new PictureError("it is empty");
  if (isPng(bytes)) return decodePngGrey(bytes);
  if (bytes[0] === 0x50 && (bytes[1] === 0x35 || bytes[1] === 0x32)) return decodePgm(bytes);
  throw new PictureError("not a PNG or PGM picture");
}

/** The answer for people: verdict, scores, the picture. */
export function describe(c: Classification): string {
  const scores = c.scores.map((s, i) => `${i}: ${s.toFixed(4)}`).join("  ");
  return `${c.file}: ${c.predicted} (score ${c.score.toFixed(4)})\n${scores}\n` +
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
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (options.files.length === 0) {
    console.error("classify: name at least one FILE (PNG, PGM, or - for standard input)");
    return 2;
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
    return 1;
  }
  let failed = 0;
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
        return 1;
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
        scores,
        digit: Array.from(digit),
      };
      console.log(options.json ? JSON.stringify(c) : describe(c));
    }
  } finally {
    client.close();
  }
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
