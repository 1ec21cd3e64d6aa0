/**
 * A listener Worker of `--listeners N`: it listens on the board port beside
 * the others (`Deno.listen({ reusePort: true })`, which needs
 * `--unstable-net`; the kernel spreads the connections between them), and
 * serves its connections with the board port's own code (`BoardListener`,
 * `Connection`: framing, PROXY v2 headers, deadlines, limits shared through
 * `SharedBoardLimits`; the TLS board port too, `--tls-port`) against a `RemoteHandler`, which forwards every
 * request to the main thread's `RequestHandler` in one batch per tick.
 * `ListenerWorkers` (`listener_workers.ts`) starts and talks to it; the
 * messages are in `listener_wire.ts`: `listen` (bind, answer `listening` or
 * `failed`), `serve` (start accepting), `replies`, and `drain` (stop
 * accepting, answer what is owed, close, answer `drained`). With
 * `--http-port` it serves the HTTP port too (`HttpFront`): `http` (bind and
 * serve, answer `httpListening` or `httpFailed`), `httpAnswers`,
 * `httpBodyPull` and `httpBodyCancel` (a passed-on body's next chunk, answered
 * `httpBodyChunk`, or the rest refused), and `httpDrain` (answer `httpDrained`;
 * a `drain` drains it too, beside the board port). It answers `ping` with
 * `pong`, a sign of life for the main thread's liveness check.
 *
 * @example
 * ```ts
 * // Started by ListenerWorkers; on its own it waits for a "listen" message.
 * const worker = new Worker(new URL("./listener_worker.ts", import.meta.url), { type: "module" });
 * worker.terminate();
 * ```
 * @module
 */
/// <reference lib="deno.worker" />
import { AddressRanges } from "../auth/cidr.ts";
import { HttpFront } from "./http_front.ts";
import { Logger } from "../log.ts";
import { listenTls } from "../tls/tls.ts";
import type { ConnectionContext } from "../tcp/answering_connection.ts";
import { connectionSettings } from "../tcp/connection_settings.ts";
import { httpBudget, type QueueShare } from "../tcp/limits.ts";
import { BoardListener } from "../tcp/listener.ts";
import type {
  FromListener,
  HttpFrontSettings,
  ListenerBatch,
  ListenerSettings,
  ToListener,
} from "./listener_wire.ts";
import { RemoteHandler } from "./remote_handler.ts";
import { SharedBoardLimits } from "./shared_limits.ts";
import { webLocks } from "./web_locks.ts";

/** The shared limits; each connection's share of the queue is counted here (`RemoteShare`). */
class WorkerLimits extends SharedBoardLimits {
  override queueShare(owner?: unknown): QueueShare {
    return owner ? handler.shareOf(owner, this) : super.queueShare();
  }
}

function post(message: FromListener, transfer: ArrayBuffer[] = []): void {
  self.postMessage(message, transfer);
}

const handler = new RemoteHandler((batch: ListenerBatch, transfer) => post(batch, transfer));
let socket: Deno.TcpListener | null = null;
let tlsSocket: Deno.TlsListener | null = null;
let context: ConnectionContext | null = null;
let listeners: BoardListener[] = [];
let front: HttpFront | null = null;
let log: Logger | null = null;
let frontDrained: Promise<void> | null = null;
/** Resolves once this Worker holds its life lock (asked for at a start's first ping, or at `listen`). */
let lifeLockHeld: Promise<void> | null = null;

/**
 * Takes the Web Lock held until this Worker stops (the main thread is granted
 * it then), then calls `held`: only once it is granted, also when a message
 * before asked for it, since the main thread reads an answer as "it holds it".
 */
function holdLifeLock(lifeLock: string, held: () => void): void {
  lifeLockHeld ??= new Promise((granted) => {
    webLocks().request(lifeLock, () => {
      granted();
      return new Promise(() => {});
    });
  });
  void lifeLockHeld.then(held);
}

/** Binds and serves the HTTP port beside the other Workers. */
function serveHttp(settings: HttpFrontSettings): void {
  try {
    front = HttpFront.start(settings, post, log, context && httpBudget(context.limits));
  } catch (e) {
    const error = e as Error;
    post({ type: "httpFailed", name: error.name, message: error.message });
    return;
  }
  post({ type: "httpListening", port: front.port });
}

/** Stops the HTTP port once, after answering what it owes; `httpDrained` says so. */
function drainHttp(): Promise<void> {
  frontDrained ??= (async () => {
    await front?.shutdown();
    post({ type: "httpDrained" });
  })();
  return frontDrained;
}

/** Binds the port; the accept loop starts on `serve`, so clients wait in the backlog until then. */
function listen(settings: ListenerSettings, lifeLock: string): void {
  try {
    socket = Deno.listen({ hostname: settings.hostname, port: settings.port, reusePort: true });
    if (settings.tls) {
      tlsSocket = listenTls(settings.hostname, settings.tls.port, settings.tls, true);
    }
  } catch (e) {
    socket?.close();
    const error = e as Error;
    post({ type: "failed", name: error.name, message: error.message });
    return;
  }
  log = new Logger(settings.logLevel, undefined, settings.logFormat);
  let trusted: AddressRanges | null = null;
  if (settings.trustedProxies) {
    const ranges = AddressRanges.parse(settings.trustedProxies.join(","));
    trusted = ranges instanceof Error ? AddressRanges.empty() : ranges;
  }
  context = {
    handler,
    log,
    limits: new WorkerLimits(settings.limitOptions, settings.limits, settings.thread),
    trustedProxies: trusted,
    ...connectionSettings(settings),
    onConnection: (event) => handler.event(event),
    onClosed: (connection) => handler.closed(connection),
  };
  const listening: FromListener = {
    type: "listening",
    port: socket.addr.port,
    tlsPort: tlsSocket?.addr.port ?? null,
  };
  // Held until this Worker stops: the main thread learns so when it is granted the lock.
  holdLifeLock(lifeLock, () => post(listening));
}

async function drain(): Promise<void> {
  // Both ports stop accepting at once, as in process; `httpDrained` is posted
  // before `drained`, which ends this Worker.
  const http = front ? drainHttp() : null;
  if (listeners.length > 0) await Promise.all(listeners.map((listener) => listener.shutdown()));
  else {
    socket?.close();
    tlsSocket?.close();
  }
  await http;
  handler.flush();
  post({ type: "drained" });
}

self.onmessage = (event: MessageEvent<ToListener>) => {
  const message = event.data;
  switch (message.type) {
    case "replies":
      handler.receive(message.buffer, message.length);
      break;
    case "listen":
      listen(message.settings, message.lifeLock);
      break;
    case "serve":
      if (socket && context && listeners.length === 0) {
        // TLS connections are served the same way: the same protocols inside.
        listeners = [socket, tlsSocket].flatMap((s) => s ? [new BoardListener(s, context!)] : []);
      }
      break;
    case "drain":
      drain();
      break;
    case "http":
      serveHttp(message.settings);
      break;
    case "httpAnswers":
      front?.receive(message.answers);
      break;
    case "httpBodyPull":
      front?.pullBody(message.seq);
      break;
    case "httpBodyCancel":
      front?.cancelBody(message.seq);
      break;
    case "httpDrain":
      drainHttp();
      break;
    case "ping":
      if (message.lifeLock) holdLifeLock(message.lifeLock, () => post({ type: "pong" }));
      else post({ type: "pong" });
      break;
  }
};
