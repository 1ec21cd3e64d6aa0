/**
 * The main thread's answers to a listener Worker's HTTP requests of a tick
 * (`listener_http.ts`): an inference the Worker read by `answerInfer`, any
 * other request rebuilt from what the Worker took and passed through the
 * port's routes (`answerHttp`), each answer added to the Worker's outbox as
 * it is ready.
 *
 * @module
 */
import { WireError } from "../../shared/errors.ts";
import type { HttpRequestNote, PostedInferInput } from "./listener_wire.ts";
import type { Outbox } from "./_http_outbox.ts";
import { handlerFailed } from "../http/errors.ts";
import { answerHttp, type HttpDeps } from "../http/http.ts";
import { answerInfer, answerUnreadable, type HttpAnswer, type InferInput } from "../http/infer.ts";

/** An inference's input as the Worker read it, its error a `WireError` again. */
function inputOf(posted: PostedInferInput): InferInput {
  const split = posted.split;
  return {
    ...posted,
    split: "json" in split ? split : new WireError(split.status, split.message),
  };
}

/**
 * A request rebuilt from what the Worker took, with the method the client
 * sent: the Fetch API's constructor would upper-case `post` and refuse
 * `TRACE`, which `Deno.serve` hands to the routes as they came (they answer
 * 405), so it is built with a method that takes the body and then shadowed.
 * Its body is pulled from the Worker as the route reads it (`Outbox.bodyOf`).
 */
function passedOn(
  outbox: Outbox,
  seq: number,
  proxy: NonNullable<HttpRequestNote["proxy"]>,
): Request {
  const { method, url, headers, hasBody } = proxy;
  const request = new Request(url, {
    method: hasBody ? "POST" : "GET",
    headers,
    body: hasBody ? outbox.bodyOf(seq) : null,
  });
  return Object.defineProperty(request, "method", { value: method });
}

/** Any other request, as the Worker took it, through the port's routes. */
async function proxied(
  deps: HttpDeps,
  outbox: Outbox,
  { seq, peer, proxy }: HttpRequestNote,
): Promise<HttpAnswer> {
  // A Request cannot be made of it: refused here as in process (`answerHttp`).
  const unreadable = answerUnreadable(deps, proxy!.method, proxy!.url, peer);
  if (unreadable) return unreadable;
  return answerOf(await answerHttp(deps, passedOn(outbox, seq, proxy!), peer));
}

/** A response as data, to post to the Worker. */
async function answerOf(response: Response): Promise<HttpAnswer> {
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: new Uint8Array(await response.arrayBuffer()),
  };
}

/** Answers one tick's requests of a Worker; each answer goes back as it is ready. */
export function answerAll(deps: HttpDeps, outbox: Outbox, requests: HttpRequestNote[]): void {
  const arrived = performance.now();
  for (const note of requests) {
    const infer = note.infer;
    // The time it took in the Worker, before this thread's clock saw it.
    const started = arrived - note.readMs;
    const answer = infer
      ? answerInfer(deps, inputOf(infer.input), note.peer, infer.name, infer.version, started)
      : proxied(deps, outbox, note);
    answer.catch((e) => answerOf(handlerFailed(deps.log, e))).then((a) => outbox.add(note.seq, a));
  }
}
