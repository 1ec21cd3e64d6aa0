/**
 * Starting a listener Worker: `spawnListener` creates it in its place, `bind` asks
 * it to listen on the ports (within `BindDeadlines`, so a start-up stuck for
 * good fails instead of waiting for ever), `bindAll` starts and binds the
 * first ones. The errors a start fails with, and the sentences they carry.
 *
 * @example
 * ```ts
 * import { ListenerStartError, silentAtStart } from "./worker_start.ts";
 *
 * const error = new ListenerStartError(silentAtStart(5_000));
 * console.log(error.message);
 * // a listener Worker did not answer within 5000 ms while it started (--listener-timeout-ms)
 * ```
 * @module
 */
import type { Logger } from "../log.ts";
import { TlsError } from "../tls/tls.ts";
import type { FromListener, ListenerSettings } from "./listener_wire.ts";
import type { SharedBoardLimits } from "./shared_limits.ts";
import { WorkerLink } from "./worker_link.ts";

/** An error a Worker posted (its name and message), as the class it had there. */
export function workerError(name: string, message: string): Error {
  const errors = Deno.errors as unknown as Record<string, ErrorConstructor>;
  const kind = name === "TlsError" ? TlsError : errors[name] ?? Error;
  return new kind(message);
}

/**
 * How long a Worker given up is waited for to stop after `terminate()`, ms:
 * one that comes back to its event loop stops there within milliseconds; a
 * second is short beside the limit it was silent for. Deno's `terminate()`
 * does not interrupt synchronous JavaScript: one looping goes on, its
 * sockets open.
 */
export const STOP_WAIT_MS = 1_000;

/**
 * A listener Worker that could not start: it failed, ended, or did not
 * answer in time. Its message is the sentence the server's start fails with
 * (`deno task serve` prints it alone).
 */
export class ListenerStartError extends Error {}

/**
 * A bind's Worker, given up, that has not stopped within `STOP_WAIT_MS`: it
 * goes on, its sockets open, so its column keeps its counts and no other
 * Worker is started on it (each would join it).
 */
export class StuckWorkerError extends ListenerStartError {}

/**
 * How long a new listener Worker may take to load its code before it is
 * given up, ms (`BindDeadlines.startMs`; not an option of the server): a
 * cold start on a busy machine takes seconds, not this.
 */
export const LISTENER_START_TIMEOUT_MS = 30_000;

/**
 * The sentence a bind fails with when its Worker has not answered within
 * `ms`: its bind (`--listener-timeout-ms`), or, `loading`, the ping that
 * says its code has loaded (`LISTENER_START_TIMEOUT_MS`).
 */
export function silentAtStart(ms: number, loading = false): string {
  return loading
    ? `a listener Worker did not load its code within ${ms} ms`
    : `a listener Worker did not answer within ${ms} ms while it started (--listener-timeout-ms)`;
}

/** How long a bind waits for its Worker, ms. */
export interface BindDeadlines {
  /** For its first answer: a new Worker loads its code first (`LISTENER_START_TIMEOUT_MS`). */
  startMs: number;
  /** Then, its event loop running, for the bind's answer (`--listener-timeout-ms`). */
  silentMs: number;
}

/**
 * Binds one Worker, counting in its link's column of the limits (`settings`'
 * own `thread` is replaced); its ports, or the bind's error rethrown here. With
 * `deadlines`, a Worker that does not answer (a ping sent ahead of the bind:
 * its code loaded, then the bind itself) in time is terminated and the bind
 * fails with `silentAtStart`: a start-up stuck for good fails the start, or
 * the restart's attempt, instead of waiting for ever (the liveness check
 * watches only Workers that serve). One that answered the ping, and so holds
 * its life lock, is waited for to stop; one that has not stopped within
 * `STOP_WAIT_MS` fails it with a `StuckWorkerError`.
 */
export async function bind(
  link: WorkerLink,
  settings: ListenerSettings,
  deadlines?: BindDeadlines,
): Promise<{ port: number; tlsPort: number | null }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise((resolve, reject) => {
      const giveUpAfter = (ms: number, loading: boolean) => {
        clearTimeout(timer);
        timer = setTimeout(async () => {
          link.worker.terminate();
          const why = silentAtStart(ms, loading);
          // Past its first answer it holds its life lock: whether it stopped can be told.
          if (!loading && !(await link.stopped(AbortSignal.timeout(STOP_WAIT_MS)))) {
            reject(new StuckWorkerError(`${why}; it did not stop: restart the process`));
          }
          reject(new ListenerStartError(why));
        }, ms);
      };
      link.worker.onmessage = (event: MessageEvent<FromListener>) => {
        const message = event.data;
        if (message.type === "listening") resolve(message);
        else if (message.type === "failed") reject(workerError(message.name, message.message));
        else if (message.type === "pong" && deadlines) giveUpAfter(deadlines.silentMs, false);
      };
      link.worker.onerror = (event) => {
        event.preventDefault();
        reject(new ListenerStartError(`a listener Worker failed to start: ${event.message}`));
      };
      // Ended meanwhile (the Workers stopping): no answer will come.
      link.failed.then((message) =>
        reject(new ListenerStartError(`a listener Worker ended: ${message}`))
      );
      if (deadlines) {
        giveUpAfter(deadlines.startMs, true);
        link.send({ type: "ping", lifeLock: link.lifeLock });
      }
      link.send({
        type: "listen",
        settings: { ...settings, thread: link.column },
        lifeLock: link.lifeLock,
      });
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts `count` Workers as threads 1 to `count` and binds each in turn: the
 * first binds the ports `settings` asks for (`settings` then holds the ports
 * bound), the others join them. Throws the first bind's error (one past its
 * `deadlines` included), every Worker ended. One that fails after its bind,
 * while the next ones bind, is not lost in silence: its error is in
 * `failedInStart`, for `ListenerWorkers.lost`.
 */
export async function bindAll(
  count: number,
  settings: ListenerSettings,
  limits: SharedBoardLimits,
  options: { log: Logger; workerUrl?: URL; deadlines?: BindDeadlines },
): Promise<{ links: WorkerLink[]; failedInStart: Map<WorkerLink, string> }> {
  const links: WorkerLink[] = [];
  const failedInStart = new Map<WorkerLink, string>();
  try {
    for (let thread = 1; thread <= count; thread++) {
      const link = spawnListener(thread, limits, options.log, options.workerUrl);
      links.push(link);
      const bound = await bind(link, settings, options.deadlines);
      link.worker.onerror = (event) => {
        event.preventDefault();
        failedInStart.set(link, event.message);
      };
      settings.port = bound.port;
      if (settings.tls) settings.tls.port = bound.tlsPort!;
    }
  } catch (e) {
    for (const link of links) link.worker.terminate();
    throw e;
  }
  return { links, failedInStart };
}

/**
 * A new listener Worker (`url`: `listener_worker.ts` when absent) in place
 * `thread`, counting in `column` of `limits` (its place's by default); it waits for `listen`.
 */
export function spawnListener(
  thread: number,
  limits: SharedBoardLimits,
  log: Logger,
  url = new URL("./listener_worker.ts", import.meta.url),
  column = thread,
): WorkerLink {
  const worker = new Worker(url, { type: "module", name: `listener-${thread}` });
  return new WorkerLink(worker, thread, limits, log, column);
}
