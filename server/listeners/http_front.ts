/**
 * The HTTP port's socket half in a listener Worker (`--listeners N` with
 * `--http-port`): each Worker serves the port beside the others
 * (`Deno.serve({ reusePort: true })`, which needs `--unstable-net`; the kernel
 * spreads the connections), so the connections, HTTP's parsing, TLS and the
 * bodies' reading run on the Workers' cores. An inference's body is read
 * (limited while read, inflated) and split into its JSON and binary parts
 * here (`readInferInput`), unless device tokens are on: then its token is
 * authorized first, on the main thread, and the body read only after (a
 * Worker holds no token table). Every other request goes as it came, its body
 * left here until the main thread's route reads it (`pullBody`), so a route
 * that answers without it waits for none of it. The requests go to the
 * main thread in batches, where the routes, the model's checks and the one
 * request handler answer them as in process (`listener_http.ts`); the
 * answers come back in one message a tick. A lone request goes at once; one
 * taken while others wait for answers goes with those taken until the next
 * turn of this thread's event loop.
 *
 * @example
 * ```ts
 * import { HttpFront } from "./http_front.ts";
 * import type { FromListener } from "./listener_wire.ts";
 *
 * if ("listenDatagram" in Deno) { // run with --unstable-net
 *   const posted: FromListener[] = [];
 *   const settings = {
 *     hostname: "127.0.0.1", port: 0, tls: null, maxBodyBytes: 1 << 20, trustedProxies: null,
 *     tokensOn: false,
 *   };
 *   const front = HttpFront.start(settings, (message) => posted.push(message));
 *   const answer = fetch(`http://127.0.0.1:${front.port}/v2/health/live`);
 *   while (posted.length === 0) await new Promise((r) => setTimeout(r, 5));
 *   const request = (posted[0] as { requests: { seq: number }[] }).requests[0];
 *   front.receive([{ seq: request.seq, status: 200, headers: {}, body: new Uint8Array(0) }]);
 *   console.log((await answer).status); // 200
 *   await front.shutdown();
 * }
 * ```
 * @module
 */
import { WireError } from "../../shared/errors.ts";
import type { Logger } from "../log.ts";
import type {
  FromListener,
  HttpAnswerNote,
  HttpFrontSettings,
  HttpRequestNote,
} from "./listener_wire.ts";
import { AddressRanges } from "../auth/cidr.ts";
import { Answering } from "../http/answering.ts";
import { clientPeer } from "../http/forwarded.ts";
import type { BodyReading } from "../http/body.ts";
import type { BufferBudget } from "../tcp/limits.ts";
import { handlerFailed } from "../http/errors.ts";
import { readInferInput } from "../http/infer.ts";
import { inferRoute } from "../http/model_route.ts";

/**
 * A passed-on body: its request, and its reader once the main thread has
 * pulled from it. Until then not even `request.body` is read: `Deno.serve`
 * then keeps the connection for another request and reads the body's rest
 * itself, however long or slow, where an untouched body gets the answer
 * with `connection: close`.
 */
interface PassedBody {
  request: Request;
  reader: ReadableStreamDefaultReader<Uint8Array> | null;
}

/**
 * Whether a request has a body, from its headers where they say (a length
 * above 0, or chunks), so that its stream is not touched (`PassedBody`); an
 * HTTP/2 body may come with neither header, and only its stream tells.
 */
function hasBody(request: Request): boolean {
  const length = request.headers.get("content-length");
  if (length !== null) return Number(length) !== 0;
  return request.headers.has("transfer-encoding") || request.body !== null;
}

/** Methods whose body is passed on (a GET's or a HEAD's is not read). */
const WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The HTTP port in one listener Worker. */
export class HttpFront {
  readonly port: number;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #settings: HttpFrontSettings;
  #post: (message: FromListener) => void;
  #pending = new Map<number, (answer: HttpAnswerNote) => void>();
  /**
   * Proxied requests' bodies the main thread may still pull, by request; each
   * locked by its first pull only: a body no route reads stays untouched, and
   * `Deno.serve` closes its connection after the answer, as in process.
   */
  #bodies = new Map<number, PassedBody>();
  #requests: HttpRequestNote[] = [];
  #scheduled = false;
  #seq = 0;
  #flush = () => this.#send();
  /**
   * The next turn of this thread's event loop, to post a batch in: `Deno.serve`
   * calls its handler for each request in a turn of its own, so a microtask
   * would gather one request a message, each a message for the main thread
   * to take in. A message to itself waits for no timer (a timer of 0 ms
   * added 2 ms to a lone client's round trip).
   */
  #turn: MessageChannel;
  /** Shut down: the port to itself is closed, and a note goes at once. */
  #closed = false;
  #answering = new Answering();
  #reading: BodyReading;
  #trusted: AddressRanges | null;

  private constructor(
    settings: HttpFrontSettings,
    post: (message: FromListener) => void,
    log: Logger | null,
    budget: BufferBudget | null,
  ) {
    this.#settings = settings;
    this.#post = post;
    this.#reading = { timeoutMs: settings.bodyTimeoutMs, budget: budget ?? undefined };
    const ranges = settings.trustedProxies &&
      AddressRanges.parse(settings.trustedProxies.join(","));
    // Ranges the main thread parsed already: an error cannot come.
    this.#trusted = ranges instanceof AddressRanges ? ranges : null;
    this.#server = Deno.serve(
      {
        hostname: settings.hostname,
        port: settings.port,
        reusePort: true,
        ...(settings.tls ?? {}),
        onListen: () => {},
        onError: (e) => handlerFailed(log, e),
      },
      (request, info) => {
        this.#answering.track(info);
        return this.#take(request, clientPeer(info.remoteAddr, request.headers, this.#trusted));
      },
    );
    this.port = this.#server.addr.port;
    // Opened once the port is bound: a bind that throws leaves no port open.
    this.#turn = new MessageChannel();
    this.#turn.port1.onmessage = this.#flush;
  }

  /**
   * Binds and serves the port (throws the bind's error: `Deno.errors.AddrInUse`,
   * say); `log` hears of a request that failed here; an inference's body is
   * charged to `budget` (the shared limits' `--max-buffered-bytes`) while it is read.
   */
  static start(
    settings: HttpFrontSettings,
    post: (message: FromListener) => void,
    log: Logger | null = null,
    budget: BufferBudget | null = null,
  ): HttpFront {
    return new HttpFront(settings, post, log, budget);
  }

  /** The main thread's answers: each request waiting for one is answered. */
  receive(answers: HttpAnswerNote[]): void {
    for (const answer of answers) {
      const resolve = this.#pending.get(answer.seq);
      this.#pending.delete(answer.seq);
      resolve?.(answer);
    }
  }

  /** Posts the next chunk of a proxied request's body (`httpBodyChunk`), as the main thread reads it. */
  pullBody(seq: number): void {
    const body = this.#bodies.get(seq);
    const post = (chunk: Uint8Array | null, error: string | null) => {
      if (chunk === null) this.#bodies.delete(seq);
      this.#post({ type: "httpBodyChunk", seq, chunk, error });
    };
    if (!body) return post(null, "the request is over");
    body.reader ??= body.request.body!.getReader();
    body.reader.read().then(
      ({ done, value }) => post(done ? null : value, null),
      (e) => post(null, (e as Error).message),
    );
  }

  /** The main thread read no further (its limit, say): the rest of the body is refused, as in process. */
  cancelBody(seq: number): void {
    const body = this.#bodies.get(seq);
    (body?.reader ?? body?.request.body)?.cancel().catch(() => {});
    this.#bodies.delete(seq);
  }

  /** Stops accepting and answers what is in flight (its answers still come from the main thread). */
  async shutdown(): Promise<void> {
    try {
      await this.#answering.shutdown(this.#server);
    } finally {
      // Every request is answered or its client has gone. A handler of a gone client still
      // under way posts its note at once (`#closed`): an open port would hold a test's process.
      this.#closed = true;
      this.#turn.port1.close();
      this.#turn.port2.close();
      // A batch waiting for a turn that will not come now goes at once.
      if (this.#scheduled) this.#send();
    }
  }

  async #take(request: Request, peer: string): Promise<Response> {
    const taken = performance.now();
    const note: HttpRequestNote = { seq: this.#seq++, peer, readMs: 0, infer: null, proxy: null };
    // With tokens on, an infer goes as any request: its body is read once its token is authorized.
    const target = this.#settings.tokensOn ? null : inferRoute(request.method, request.url);
    if (target) {
      const { split, ...input } = await readInferInput(
        request,
        this.#settings.maxBodyBytes,
        this.#reading,
      );
      // The binary part is a view of the whole body and the pixels a view of a
      // slab: each posted alone, not with the buffer under it.
      const posted = split instanceof WireError
        ? { status: split.status, message: split.message }
        : { ...split, binary: split.binary.slice(), data: split.data?.slice() ?? null };
      note.infer = { ...target, input: { ...input, split: posted } };
    } else {
      const passed = WITH_BODY.has(request.method) && hasBody(request);
      if (passed) this.#bodies.set(note.seq, { request, reader: null });
      note.proxy = {
        method: request.method,
        url: request.url,
        headers: [...request.headers],
        hasBody: passed,
      };
    }
    const answer = await new Promise<HttpAnswerNote>((resolve) => {
      this.#pending.set(note.seq, resolve);
      note.readMs = performance.now() - taken;
      this.#requests.push(note);
      if (!this.#scheduled) {
        this.#scheduled = true;
        // Others waiting for answers: more come meanwhile, so the batch goes on the next turn.
        // This one alone (a lone client, a quiet port): at once.
        if (this.#pending.size > 1 && !this.#closed) this.#turn.port2.postMessage(null);
        else queueMicrotask(this.#flush);
      }
    });
    // A body the route did not read is left as in process: unread, for Deno.serve to deal with.
    this.#bodies.get(note.seq)?.reader?.releaseLock();
    this.#bodies.delete(note.seq);
    // A null-body status (204, 304) takes no body, not even an empty one.
    const body = answer.body.length > 0 ? answer.body as string | Uint8Array<ArrayBuffer> : null;
    return new Response(body, { status: answer.status, headers: answer.headers });
  }

  #send(): void {
    this.#scheduled = false;
    const requests = this.#requests;
    this.#requests = [];
    this.#post({ type: "httpRequests", requests });
  }
}
