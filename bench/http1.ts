/**
 * A minimal HTTP/1.1 keep-alive client for the load generator: one
 * connection per simulated device, one request at a time, the request's
 * head prebuilt, the reply's head parsed just enough to find its status and
 * `Content-Length`. `fetch` costs the load generator several times more CPU
 * per request, and when the load runs on the server's machine that CPU is
 * taken from the server being measured; perf_analyzer, Triton's own load
 * tool, is native code for the same reason.
 *
 * @example
 * ```ts
 * import { Http1Connection } from "./http1.ts";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) =>
 *   new Response(`got ${(await request.arrayBuffer()).byteLength} bytes`));
 * const conn = await Http1Connection.open("127.0.0.1", server.addr.port);
 * const body = new TextEncoder().encode('{"inputs":[]}');
 * const reply = await conn.post("/v2/models/mnist/infer", body, "application/json");
 * console.log(reply.status, new TextDecoder().decode(reply.body)); // 200 got 13 bytes
 * conn.close();
 * await server.shutdown();
 * ```
 * @module
 */

const CRLF2 = [13, 10, 13, 10];

/** A reply: its status, its body and its `Inference-Header-Content-Length` (OIP binary data). */
export interface Http1Reply {
  status: number;
  body: Uint8Array;
  /** The header's value, or null without one. */
  inferenceHeaderLength: string | null;
}

/** Thrown when the server closes or answers something this client does not read. */
export class Http1Error extends Error {
  kind: string;
  constructor(kind: string, message = kind) {
    super(message);
    this.kind = kind;
  }
}

function headEnd(buf: Uint8Array, length: number): number {
  outer: for (let i = 0; i + 4 <= length; i++) {
    for (let k = 0; k < 4; k++) if (buf[i + k] !== CRLF2[k]) continue outer;
    return i + 4;
  }
  return -1;
}

/** One keep-alive connection. */
export class Http1Connection {
  readonly conn: Deno.TcpConn;
  #host: string;
  #buf = new Uint8Array(64 * 1024);

  private constructor(conn: Deno.TcpConn, host: string) {
    this.conn = conn;
    this.#host = host;
  }

  static async open(hostname: string, port: number): Promise<Http1Connection> {
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return new Http1Connection(conn, `${hostname}:${port}`);
  }

  /** Sends one POST (with `headers`, each `name: value`, besides its own) and reads its reply. */
  async post(
    path: string,
    body: Uint8Array,
    contentType: string,
    headers: Record<string, string> = {},
  ): Promise<Http1Reply> {
    let more = "";
    for (const [name, value] of Object.entries(headers)) more += `${name}: ${value}\r\n`;
    const head = new TextEncoder().encode(
      `POST ${path} HTTP/1.1\r\nhost: ${this.#host}\r\ncontent-type: ${contentType}\r\n` +
        `content-length: ${body.length}\r\n${more}\r\n`,
    );
    const request = new Uint8Array(head.length + body.length);
    request.set(head);
    request.set(body, head.length);
    let written = 0;
    while (written < request.length) written += await this.conn.write(request.subarray(written));
    return await this.#read();
  }

  async #read(): Promise<Http1Reply> {
    let got = 0;
    let end = -1;
    while (end < 0) {
      if (got === this.#buf.length) throw new Http1Error("REPLY_TOO_LONG");
      const n = await this.conn.read(this.#buf.subarray(got));
      if (n === null) throw new Http1Error("CLOSED_BEFORE_REPLY");
      got += n;
      end = headEnd(this.#buf, got);
    }
    const head = new TextDecoder().decode(this.#buf.subarray(0, end));
    const status = Number(head.slice(9, 12));
    const length = head.match(/\r\ncontent-length:\s*(\d+)/i);
    if (!length || !(status >= 100)) throw new Http1Error("BAD_REPLY", head.split("\r\n")[0]);
    const size = Number(length[1]);
    if (end + size > this.#buf.length) throw new Http1Error("REPLY_TOO_LONG");
    while (got < end + size) {
      const n = await this.conn.read(this.#buf.subarray(got));
      if (n === null) throw new Http1Error("CLOSED_BEFORE_REPLY");
      got += n;
    }
    const inferenceHeaderLength =
      head.match(/\r\ninference-header-content-length:\s*(\d+)/i)?.[1] ?? null;
    return { status, body: this.#buf.slice(end, end + size), inferenceHeaderLength };
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}
