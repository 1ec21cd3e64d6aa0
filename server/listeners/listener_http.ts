/**
 * The HTTP port served by the listener Workers (`--listeners N` with
 * `--http-port`), the main thread's half: each Worker binds the port beside
 * the others and takes its connections (`http_front.ts`); here each tick's
 * requests from a Worker are answered as in process, an inference the
 * Worker read by `answerInfer` (the one request handler, which authorizes it
 * and has it checked against the model served now) and any other request,
 * an inference with tokens on too, by the port's routes (`answerHttp`, whose
 * infer route reads the body once the token is authorized), so tokens,
 * limits, versions and metrics are the same
 * whichever thread took the connection. The answers go back to the Worker in
 * one message per tick. Here the port is bound on each Worker and drained;
 * the answering is `_http_answers.ts`'s, each Worker's outbox
 * `_http_outbox.ts`'s.
 *
 * @example
 * ```ts
 * import { startServer } from "../server.ts";
 *
 * if ("listenDatagram" in Deno) { // run with --unstable-net
 *   const server = await startServer({ port: 0, httpPort: 0, listeners: 2, warmUpMs: 0 });
 *   const { port } = server.http!.addr;
 *   const ready = await fetch(`http://127.0.0.1:${port}/v2/health/ready`);
 *   console.log(ready.status); // 200, answered by the main thread through a listener Worker
 *   await server.shutdown();
 * }
 * ```
 * @module
 */
import type { HttpFrontSettings } from "./listener_wire.ts";
import type { ListenerWorkers } from "./listener_workers.ts";
import type { WorkerLink } from "./worker_link.ts";
import { ListenerStartError, silentAtStart, workerError } from "./worker_start.ts";
import type { HttpDeps, HttpListener, HttpOptions } from "../http/http.ts";
import { answerAll } from "./_http_answers.ts";
import { Outbox } from "./_http_outbox.ts";

/** The sentence the HTTP port's start fails with when every listener Worker failed before binding it. */
export const NO_WORKER_FOR_HTTP =
  "every listener Worker failed before binding the HTTP port: none serves it";

/**
 * Serves the HTTP port on `workers`, binding each Worker in turn (the first
 * picks the port when `options.port` is 0; one that has failed is passed
 * over), and each Worker restarted in a failed one's place
 * (`ListenerWorkers.onRestart`). Throws the bind's error
 * (`Deno.errors.AddrInUse`, say), or `NO_WORKER_FOR_HTTP` when none bound it.
 */
export async function serveHttpOnListeners(
  workers: ListenerWorkers,
  deps: HttpDeps,
  options: HttpOptions,
): Promise<HttpListener> {
  const outboxes = new Map<WorkerLink, Outbox>();
  /**
   * Requests taken by each Worker's place (thread i + 1 at i) since start: a
   * restarted Worker counts on, and the count stays while a restart binds.
   */
  const taken = workers.links.map(() => 0);
  const binding = new Map<
    WorkerLink,
    { resolve: (port: number) => void; reject: (e: Error) => void }
  >();
  workers.onMessage = (link, message) => {
    switch (message.type) {
      case "httpRequests":
        taken[link.thread - 1] += message.requests.length;
        answerAll(deps, outboxes.get(link)!, message.requests);
        break;
      case "httpListening":
        binding.get(link)?.resolve(message.port);
        break;
      case "httpFailed":
        binding.get(link)?.reject(workerError(message.name, message.message));
        break;
      case "httpBodyChunk":
        outboxes.get(link)?.deliver(message);
        break;
      case "httpDrained":
        outboxes.get(link)?.markDrained();
        break;
    }
  };
  const settings: HttpFrontSettings = {
    hostname: options.hostname,
    port: options.port,
    tls: options.tls ?? null,
    maxBodyBytes: deps.maxBodyBytes,
    bodyTimeoutMs: deps.bodyReading?.timeoutMs,
    trustedProxies: deps.trustedProxies ? [...deps.trustedProxies.ranges] : null,
    tokensOn: deps.handler.tokensOn,
  };
  /**
   * Binds the port on `link`'s Worker: the port it bound. One whose event
   * loop runs (the liveness check hears it) but that does not answer this
   * bind would be waited for for ever: past `--listener-timeout-ms` it is
   * given up as a hung one, replaced, and the bind fails.
   */
  const bindOn = (link: WorkerLink): Promise<number> => {
    // The failed Worker it replaces has nothing left to answer.
    const replaced = [...outboxes.keys()].find((l) => l.thread === link.thread && l.ended);
    if (replaced) outboxes.delete(replaced);
    outboxes.set(link, new Outbox(link));
    const liveness = workers.liveness;
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new Promise<number>((resolve, reject) => {
      binding.set(link, { resolve, reject });
      link.failed.then((message) => reject(new Error(`a listener Worker failed: ${message}`)));
      if (liveness) {
        timer = setTimeout(
          () => void liveness.hung(link, silentAtStart(liveness.timeoutMs)),
          liveness.timeoutMs,
        );
      }
      link.send({ type: "http", settings });
    }).finally(() => {
      clearTimeout(timer);
      binding.delete(link);
    });
  };
  const bound = (async () => {
    let any = false;
    for (const link of workers.links) {
      try {
        settings.port = await bindOn(link);
        any = true;
      } catch (e) {
        // A Worker that failed (here or in `ListenerWorkers.start`): the one started in its
        // place binds the port through `onRestart`, as after any failure.
        if (!link.ended) throw e;
      }
    }
    if (!any) throw new ListenerStartError(NO_WORKER_FOR_HTTP);
  })();
  workers.onRestart = async (link) => {
    await bound;
    await bindOn(link);
  };
  await bound;
  let ended!: () => void;
  // A Worker that ended (the board port's drain) has drained its HTTP port too.
  const finished = new Promise<void>((resolve) => ended = resolve);
  workers.finished.then(ended);
  let stopping: Promise<void> | null = null;
  return {
    addr: { transport: "tcp", hostname: options.hostname, port: settings.port },
    get requestsPerListener() {
      return [...taken];
    },
    finished,
    shutdown: () => {
      stopping ??= (async () => {
        const links = workers.links;
        for (const link of links) link.send({ type: "httpDrain" });
        await Promise.race([
          Promise.all(links.map((link) => outboxes.get(link)?.drained)),
          workers.finished,
        ]);
        ended();
      })();
      return stopping;
    },
  };
}
