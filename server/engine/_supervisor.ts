/**
 * The engine's supervision, apart from the channel: starting a worker within
 * a deadline, retiring it, and waiting for a run with a watchdog that judges a
 * hang by the worker's progress.
 *
 * The watchdog counts only time during which this process was running: it
 * ticks every `TICK_MS` and credits at most two ticks per wake-up, so a
 * process paused by SIGSTOP (or starved by the machine) does not take its
 * healthy worker for a hung one. Any heartbeat the worker advances restarts
 * the count.
 *
 * @module
 */
import {
  createChannel,
  DONE,
  type EngineChannel,
  type EngineLoad,
  type EngineReply,
  HEARTBEAT,
  type ModelShape,
  REQUEST,
  STOP,
} from "./channel.ts";

const TICK_MS = 100;

/** How to start a worker. */
export interface EngineWorkerOptions {
  threads: number;
  maxBatch: number;
  loadTimeoutMs: number;
  workerUrl: string | URL;
  /** The runtime's WebAssembly, compiled once and given to every worker (`EngineLoad.runtimeModule`). */
  runtimeModule?: WebAssembly.Module;
}

/** A loaded worker and the memory it shares with the engine. */
export interface Spawned {
  worker: Worker;
  channel: EngineChannel;
  shape: ModelShape;
  /** Why the worker died, once it has. */
  died: string | null;
  /** Called once when the worker dies. */
  onDeath: (reason: string) => void;
}

/** Starts a worker and loads `model` into it; fails after `loadTimeoutMs`. */
export async function spawnEngineWorker(
  model: Uint8Array,
  options: EngineWorkerOptions,
): Promise<Spawned> {
  const worker = new Worker(new URL(options.workerUrl).href, { type: "module" });
  const channel = createChannel(options.maxBatch);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let reply: EngineReply;
  try {
    reply = await new Promise<EngineReply>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<EngineReply>) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(`engine worker failed: ${event.message}`));
      };
      timer = setTimeout(
        () =>
          reject(new Error(`the engine worker did not load within ${options.loadTimeoutMs} ms`)),
        options.loadTimeoutMs,
      );
      worker.postMessage(
        {
          model,
          threads: options.threads,
          buffer: channel.buffer,
          maxBatch: options.maxBatch,
          runtimeModule: options.runtimeModule,
        } satisfies EngineLoad,
      );
    });
  } catch (e) {
    worker.terminate();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  if (reply.type !== "loaded") {
    worker.terminate();
    throw new Error(reply.message);
  }
  const spawned: Spawned = { worker, channel, shape: reply.shape, died: null, onDeath: () => {} };
  worker.onerror = (event) => {
    event.preventDefault();
    if (spawned.died) return;
    spawned.died = `the engine worker died: ${event.message}`;
    wake(spawned);
    spawned.onDeath(spawned.died);
  };
  return spawned;
}

/** Wakes whoever waits for a run on this worker, so it looks again at why. */
function wake({ channel }: Spawned): void {
  Atomics.notify(channel.header, DONE);
}

/** Ends a worker's wait loop (so it is not blocked when terminated), then terminates it. */
export function retire(spawned: Spawned): void {
  const { header } = spawned.channel;
  Atomics.store(header, STOP, 1);
  Atomics.notify(header, REQUEST);
  spawned.died ??= "the engine worker was retired";
  wake(spawned);
  spawned.worker.terminate();
}

/**
 * Waits until the worker has answered `run`: "done", "died" (or was retired),
 * or "hung" after `timeoutMs` of this process's running time without progress.
 */
export async function awaitRun(
  spawned: Spawned,
  run: number,
  timeoutMs: number,
): Promise<"done" | "died" | "hung"> {
  const { header } = spawned.channel;
  let heartbeat = Atomics.load(header, HEARTBEAT);
  let stalled = 0;
  let last = performance.now();
  for (;;) {
    const done = Atomics.load(header, DONE);
    if (done === run) return "done";
    if (spawned.died) return "died";
    const wait = Atomics.waitAsync(header, DONE, done, TICK_MS);
    const outcome = wait.async ? await wait.value : wait.value;
    if (outcome !== "timed-out") continue;
    const now = performance.now();
    const beat = Atomics.load(header, HEARTBEAT);
    if (beat !== heartbeat) {
      heartbeat = beat;
      stalled = 0;
    } else {
      stalled += Math.min(now - last, 2 * TICK_MS);
    }
    last = now;
    if (stalled >= timeoutMs && Atomics.load(header, DONE) !== run) return "hung";
  }
}
