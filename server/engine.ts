/**
 * The inference engine: an onnxruntime-web (WASM) session in a Worker behind
 * the single-inference lock. `run()` takes a batch of digits and resolves with
 * their scores; calls made while one runs wait their turn, so the session
 * only ever sees one run at a time.
 *
 * @example
 * ```ts
 * import { InferenceEngine } from "./engine.ts";
 * import { loadModelFile } from "./model.ts";
 *
 * const model = await loadModelFile("models/mnist.onnx", { verifyChecksum: true });
 * const engine = await InferenceEngine.start(model.bytes, { threads: 1 });
 * const { scores, ms } = await engine.run(new Float32Array(784), 1);
 * console.log(scores, ms);
 * engine.close();
 * ```
 * @module
 */

/** What the worker found out about the model. */
export interface ModelShape {
  input: string;
  output: string;
  /** Input dims, -1 for symbolic ones. */
  inputDims: number[];
  outputDims: number[];
  /** The largest batch one `session.run` takes (Infinity for a symbolic batch). */
  maxBatch: number;
  /** The runtime and its version, e.g. "onnxruntime-web 1.30.0 (wasm, 1 thread)". */
  runtime: string;
}

/** Messages to the worker. */
export type EngineRequest =
  | { type: "load"; id: number; model: Uint8Array; threads: number }
  | { type: "run"; id: number; input: Float32Array<ArrayBuffer>; n: number };

/** Messages from the worker. */
export type EngineReply =
  | { type: "loaded"; id: number; shape: ModelShape }
  | {
    type: "result";
    id: number;
    scores: Float32Array<ArrayBuffer>;
    ms: number;
    input: Float32Array<ArrayBuffer>;
  }
  | { type: "error"; id: number; message: string };

/** The result of one run: 10 scores per digit and the run's time. */
export interface EngineResult {
  scores: Float32Array;
  /** Time `session.run` took for the whole batch, in ms, measured in the worker. */
  ms: number;
  /** The input buffer, handed back by the worker for reuse. */
  input: Float32Array<ArrayBuffer>;
}

/** Thrown when the model cannot be loaded or a run fails. */
export class EngineError extends Error {
  override name = "EngineError";
}

/** Options of `InferenceEngine.start`. */
export interface EngineOptions {
  /** WASM threads for onnxruntime-web (1 keeps the second core for sockets). */
  threads?: number;
}

/** An onnxruntime-web session in a Worker, one run at a time. */
export class InferenceEngine {
  readonly shape: ModelShape;
  #worker: Worker;
  #nextId = 1;
  #pending = new Map<number, { resolve: (r: EngineReply) => void }>();
  #lock: Promise<unknown> = Promise.resolve();
  #stopped: string | null = null;

  private constructor(worker: Worker, shape: ModelShape) {
    this.#worker = worker;
    this.shape = shape;
  }

  /** Starts the worker and loads `model` (ONNX bytes) into it. */
  static async start(model: Uint8Array, options: EngineOptions = {}): Promise<InferenceEngine> {
    const worker = new Worker(new URL("./engine_worker.ts", import.meta.url).href, {
      type: "module",
    });
    const pending = new Map<number, { resolve: (r: EngineReply) => void }>();
    worker.onmessage = (event: MessageEvent<EngineReply>) => {
      const waiter = pending.get(event.data.id);
      pending.delete(event.data.id);
      waiter?.resolve(event.data);
    };
    const failed = new Promise<never>((_, reject) => {
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new EngineError(`engine worker failed: ${event.message}`));
      };
    });
    const loaded = new Promise<EngineReply>((resolve) => pending.set(0, { resolve }));
    worker.postMessage(
      { type: "load", id: 0, model, threads: options.threads ?? 1 } satisfies EngineRequest,
    );
    let reply: EngineReply;
    try {
      reply = await Promise.race([loaded, failed]);
    } catch (e) {
      worker.terminate();
      throw e;
    }
    if (reply.type !== "loaded") {
      worker.terminate();
      throw new EngineError(
        reply.type === "error" ? reply.message : "unexpected reply from the engine",
      );
    }
    const engine = new InferenceEngine(worker, reply.shape);
    engine.#pending = pending;
    worker.onerror = (event) => {
      event.preventDefault();
      engine.#stop(`engine worker failed: ${event.message}`);
    };
    return engine;
  }

  /**
   * Runs `n` digits (`input` holds n × 784 floats, row-major) and resolves
   * with n × 10 scores. `input` is handed to the worker (transferred) and
   * comes back in the result. Runs never overlap.
   */
  run(input: Float32Array<ArrayBuffer>, n: number): Promise<EngineResult> {
    const result = this.#lock.then(() => this.#send(input, n));
    this.#lock = result.catch(() => {});
    return result;
  }

  async #send(input: Float32Array<ArrayBuffer>, n: number): Promise<EngineResult> {
    if (this.#stopped) throw new EngineError(this.#stopped);
    const id = this.#nextId++;
    const reply = await new Promise<EngineReply>((resolve) => {
      this.#pending.set(id, { resolve });
      this.#worker.postMessage({ type: "run", id, input, n } satisfies EngineRequest, [
        input.buffer,
      ]);
    });
    if (reply.type !== "result") {
      throw new EngineError(
        reply.type === "error" ? reply.message : "unexpected reply from the engine",
      );
    }
    return { scores: reply.scores, ms: reply.ms, input: reply.input };
  }

  /** Stops the worker; runs not yet finished fail with an `EngineError`. */
  close(): void {
    this.#stop("the engine was stopped");
  }

  #stop(reason: string): void {
    if (this.#stopped) return;
    this.#stopped = reason;
    this.#worker.terminate();
    for (const [id, waiter] of this.#pending) {
      waiter.resolve({ type: "error", id, message: reason });
    }
    this.#pending.clear();
  }
}
