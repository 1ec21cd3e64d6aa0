/**
 * A stand-in engine worker for supervision tests: it speaks the real channel
 * protocol (`server/engine/channel.ts`) but computes nothing, so a test can
 * make it hang or die on cue, which onnxruntime cannot be made to do at will.
 * A run's first pixel picks what happens: 0.5 hangs (a busy loop, no
 * heartbeat), 0.75 throws outside any handler (the worker dies); anything else
 * answers digit 7. A model whose first byte is 1 never finishes loading.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import {
  COUNT,
  DONE,
  type EngineLoad,
  type EngineReply,
  HEARTBEAT,
  openChannel,
  REQUEST,
  STOP,
} from "../engine/channel.ts";

self.onmessage = async (event: MessageEvent<EngineLoad>) => {
  const { model, buffer, maxBatch } = event.data;
  if (model[0] === 1) return; // never answers the load
  const channel = openChannel(buffer, maxBatch);
  self.postMessage(
    {
      type: "loaded",
      shape: {
        input: "input",
        output: "probabilities",
        inputDims: [-1, 1, 28, 28],
        outputDims: [-1, 10],
        maxBatch: Infinity,
        runtime: "scripted test worker",
      },
    } satisfies EngineReply,
  );
  const header = channel.header;
  let seen = 0;
  for (;;) {
    const wait = Atomics.waitAsync(header, REQUEST, seen);
    if (wait.async) await wait.value;
    if (Atomics.load(header, STOP)) break;
    const request = Atomics.load(header, REQUEST);
    if (request === seen) continue;
    seen = request;
    const n = Atomics.load(header, COUNT);
    const cue = channel.input[0];
    if (cue === 0.5) { for (;;) { /* hang */ } }
    if (cue === 0.75) {
      setTimeout(() => {
        throw new Error("scripted death");
      });
    } else {
      for (let i = 0; i < n; i++) channel.output.set([0, 0, 0, 0, 0, 0, 0, 1, 0, 0], i * 10);
      channel.time[0] = 0.01;
      Atomics.add(header, HEARTBEAT, 1);
      Atomics.store(header, DONE, request);
      Atomics.notify(header, DONE);
    }
  }
  self.close();
};
