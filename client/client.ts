/**
 * A Deno client for the inference server, for tests, benchmarks and programs
 * that are not boards: `InferenceClient` keeps one framed connection open and
 * pipelines requests over it; `legacyInfer` speaks the legacy
 * one-shot protocol (a connection per request).
 *
 * @example
 * ```ts
 * import { InferenceClient } from "./client.ts";
 * import { startServer } from "../server/server.ts";
 *
 * // A server of its own on free ports; a real one listens on 32001.
 * const server = await startServer({ hostname: "127.0.0.1", port: 0, httpPort: 0 });
 * const client = await InferenceClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const reply = await client.infer({ digitU8: new Uint8Array(784) });
 * console.log(reply.predicted, reply.scores);
 * client.close();
 * await server.shutdown();
 * ```
 * @module
 */
import { Command } from "../shared/codec.ts";
import { type DecodedReply, decodeReply } from "../shared/reply_codec.ts";
import { encodeRequest, type Request } from "../shared/request_codec.ts";
import { WireError } from "../shared/errors.ts";
import { FrameDecoder } from "../shared/frame.ts";
import { concatBytes } from "../shared/bytes.ts";

/** Where the server is. */
export interface Address {
  hostname: string;
  port: number;
}

/** How to connect. */
export interface ConnectOptions {
  /** The device token sent with every request (servers with `--tokens`). */
  token?: string;
  /** Connect with TLS (the server's `--tls-port`); `caCerts` trusts a self-signed certificate. */
  tls?: { caCerts?: string[] };
}

/** A framed keep-alive connection; replies come back in request order. */
export class InferenceClient {
  #conn: Deno.TcpConn | Deno.TlsConn;
  #token: string | undefined;
  #frames = new FrameDecoder(1 << 20);
  #waiting: { resolve: (r: DecodedReply) => void; reject: (e: Error) => void }[] = [];
  #nextId = 1;
  #reading: Promise<void>;
  #error: Error | null = null;

  private constructor(conn: Deno.TcpConn | Deno.TlsConn, token?: string) {
    this.#conn = conn;
    this.#token = token;
    if ("setNoDelay" in conn) conn.setNoDelay(true);
    this.#reading = this.#read();
  }

  /** Connects to the server. */
  static async connect(address: Address, options: ConnectOptions = {}): Promise<InferenceClient> {
    const where = { hostname: address.hostname, port: address.port };
    const conn = options.tls
      ? await Deno.connectTls({ ...where, caCerts: options.tls.caCerts })
      : await Deno.connect(where);
    return new InferenceClient(conn, options.token);
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#waiting.length;
  }

  /**
   * Sends an inference request (a digit as bytes or floats) and resolves with
   * the reply, whatever its status: check `reply.status`.
   */
  infer(input: { digitU8?: ArrayLike<number>; digit?: ArrayLike<number> }): Promise<DecodedReply> {
    return this.send({
      command: Command.INFERENCE_INPUT,
      digitU8: input.digitU8,
      digit: input.digit,
    });
  }

  /** Asks for the server's stats. */
  stats(): Promise<DecodedReply> {
    return this.send({ command: Command.GET_STATS });
  }

  /** Sends any request (a request id is assigned, the token added) and resolves with its reply. */
  send(request: Request): Promise<DecodedReply> {
    const token = request.token ?? this.#token;
    return this.sendRaw(encodeRequest({ ...request, token, requestId: this.#nextId++ }, true));
  }

  /** Sends bytes as they are (a frame, or anything at all) and resolves with the next reply. */
  sendRaw(bytes: Uint8Array): Promise<DecodedReply> {
    if (this.#error) return Promise.reject(this.#error);
    const reply = new Promise<DecodedReply>((resolve, reject) =>
      this.#waiting.push({ resolve, reject })
    );
    this.#write(bytes).catch((e) => this.#failAll(e));
    return reply;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
  }

  async #read(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    let first = true;
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        if (first && new TextDecoder().decode(buf.subarray(0, Math.min(n, 5))) === "HTTP/") {
          throw new Error("the reply is HTTP: this is an HTTP port, not the board port (32001)");
        }
        first = false;
        this.#frames.push(buf.subarray(0, n));
        for (;;) {
          const payload = this.#frames.next();
          if (payload === null) break;
          if (payload instanceof WireError) throw new Error(`bad reply stream: ${payload}`);
          const reply = decodeReply(payload);
          if (reply instanceof WireError) throw new Error(`bad reply: ${reply}`);
          this.#waiting.shift()?.resolve(reply);
        }
      }
      this.#failAll(new Error("the server closed the connection"));
    } catch (e) {
      this.#failAll(
        e instanceof Deno.errors.BadResource ? new Error("connection closed") : e as Error,
      );
    }
  }

  #failAll(error: Error): void {
    this.#error ??= error;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#error);
  }

  /** Closes the connection; requests still waiting are rejected. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Resolves when the reading side has ended. */
  get closed(): Promise<void> {
    return this.#reading;
  }
}

/**
 * One request the legacy way: connect, send a bare buffer, read
 * until the server closes. Returns every byte the server sent.
 */
export async function legacyExchange(address: Address, request: Uint8Array): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: address.hostname, port: address.port });
  try {
    conn.setNoDelay(true);
    let written = 0;
    while (written < request.length) written += await conn.write(request.subarray(written));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    return concatBytes(chunks);
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by the server.
    }
  }
}

/** A legacy inference: 784 floats out, the decoded reply (and its length) back. */
export async function legacyInfer(
  address: Address,
  digit: ArrayLike<number>,
): Promise<{ reply: DecodedReply | WireError; length: number }> {
  const bytes = await legacyExchange(
    address,
    encodeRequest({ command: Command.INFERENCE_INPUT, digit }, false),
  );
  return { reply: decodeReply(bytes), length: bytes.length };
}
