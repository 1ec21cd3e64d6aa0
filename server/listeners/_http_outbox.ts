/**
 * The main thread's outbox to one listener Worker for the HTTP port
 * (`listener_http.ts`): the answers of a tick, posted in one message; the
 * bodies of the requests it passed on, pulled from it a chunk at a time as
 * a route reads them; and whether its HTTP port has drained.
 *
 * @module
 */
import type { HttpAnswerNote, HttpBodyChunk } from "./listener_wire.ts";
import type { WorkerLink } from "./worker_link.ts";
import type { HttpAnswer } from "../http/infer.ts";

/** One Worker's answers of this tick, and whether its HTTP port has drained. */
export class Outbox {
  readonly drained: Promise<void>;
  markDrained!: () => void;
  #link: WorkerLink;
  #answers: HttpAnswerNote[] = [];
  #scheduled = false;
  #flush = () => {
    this.#scheduled = false;
    const answers = this.#answers;
    this.#answers = [];
    this.#link.send({ type: "httpAnswers", answers });
  };

  /** Proxied bodies' reads waiting for the Worker's next chunk, by request. */
  #pulls = new Map<
    number,
    { controller: ReadableStreamDefaultController<Uint8Array>; done(): void }
  >();

  constructor(link: WorkerLink) {
    this.#link = link;
    this.drained = new Promise((resolve) => this.markDrained = resolve);
    // A body's rest will not come from a Worker that has failed: its readers stop waiting.
    // Its connections are gone with it: its HTTP port has nothing left to drain.
    link.failed.then((message) => {
      for (const seq of [...this.#pulls.keys()]) {
        this.deliver({ type: "httpBodyChunk", seq, chunk: null, error: message });
      }
      this.markDrained();
    });
  }

  /**
   * A proxied request's body as a stream that pulls each chunk from the
   * Worker when read (none ahead: a route that never reads pulls nothing).
   */
  bodyOf(seq: number): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: (controller) =>
        new Promise<void>((done) => {
          if (this.#link.ended) {
            return done(controller.error(new Error("a listener Worker failed")));
          }
          this.#pulls.set(seq, { controller, done });
          this.#link.send({ type: "httpBodyPull", seq });
        }),
      cancel: () => {
        // A chunk still on its way finds no reader: it is dropped.
        this.#pulls.delete(seq);
        this.#link.send({ type: "httpBodyCancel", seq });
      },
    }, { highWaterMark: 0 });
  }

  /** The Worker's answer to a pull. */
  deliver({ seq, chunk, error }: HttpBodyChunk): void {
    const pull = this.#pulls.get(seq);
    if (!pull) return;
    this.#pulls.delete(seq);
    if (error !== null) pull.controller.error(new Error(error));
    else if (chunk === null) pull.controller.close();
    else pull.controller.enqueue(chunk);
    pull.done();
  }

  add(seq: number, answer: HttpAnswer): void {
    this.#answers.push({ seq, ...answer });
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#flush);
  }
}
