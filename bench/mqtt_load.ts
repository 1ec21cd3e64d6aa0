/**
 * The MQTT step of `deno task bench:stress --protocol mqtt`: simulated
 * devices, each with its own connection to the broker, ask one digit at a
 * time on `mnist/{device}/infer` and wait for the reply on their result
 * topic. Runs in the calling thread (MQTT.js is loaded from
 * `server/mqtt/`), and returns what a load Worker's run returns, so the
 * step is summarized and printed like the others.
 *
 * @example
 * ```ts
 * import { runMqttLoad } from "./mqtt_load.ts";
 * import { loadDigits } from "./digits.ts";
 * import { Mosquitto, requireMqtt } from "../server/testing/mosquitto.ts";
 *
 * if (!requireMqtt()) {
 *   const broker = await Mosquitto.start();
 *   // No server subscribes: the one request times out.
 *   const plan = { url: broker.url, clients: 1, requests: 1, durationMs: 1000, timeoutMs: 100, qos: 0 as const };
 *   const result = await runMqttLoad(plan, await loadDigits("synthetic", 1));
 *   console.log(result.count, result.errors); // 1 { TIMEOUT: 1 }
 *   await broker.stop();
 * }
 * ```
 * @module
 */
import { statusName } from "../shared/errors.ts";
import { MqttDevice } from "../server/testing/mqtt_device.ts";
import { processCpuMs } from "./cpu.ts";
import type { DigitSet } from "./digits.ts";
import { NO_REPLY } from "./load_record.ts";
import type { PoolResult } from "./pool.ts";

/** One MQTT step. */
export interface MqttPlan {
  /** The broker the server subscribes to. */
  url: string;
  clients: number;
  requests: number;
  durationMs: number;
  timeoutMs: number;
  qos: 0 | 1;
}

/** Connects `plan.clients` devices, runs the step, disconnects them. */
export async function runMqttLoad(
  plan: MqttPlan,
  set: DigitSet,
  onProgress: (done: number) => void = () => {},
): Promise<PoolResult> {
  const devices: MqttDevice[] = [];
  // Connect in small groups: a broker on the same machine takes a burst of hundreds slowly.
  for (let i = 0; i < plan.clients; i += 50) {
    const group = Array.from(
      { length: Math.min(50, plan.clients - i) },
      (_, k) => MqttDevice.connect(plan.url, `bench-${i + k}`),
    );
    devices.push(...await Promise.all(group));
  }
  const total = plan.clients * plan.requests;
  const result: PoolResult = {
    count: 0,
    latencyMs: new Float64Array(total),
    startMs: new Float64Array(total),
    status: new Int16Array(total),
    inferenceMs: new Float32Array(total).fill(NaN),
    queueMs: new Float32Array(total).fill(NaN),
    batchSize: new Uint16Array(total),
    correct: new Int8Array(total).fill(-1),
    errors: {},
    originMs: performance.timeOrigin + performance.now(),
    elapsedMs: 0,
    workerCpuMs: [],
    processCpuMs: 0,
    workers: 0,
  };
  const cpu = processCpuMs();
  const started = performance.now();
  const fail = (kind: string) => result.errors[kind] = (result.errors[kind] ?? 0) + 1;
  try {
    await Promise.all(devices.map(async (device, c) => {
      for (let r = 0; r < plan.requests; r++) {
        const at = performance.now();
        if (at - started > plan.durationMs) return;
        const pick = (c * plan.requests + r) % set.digits.length;
        const i = result.count++;
        result.startMs[i] = at - started;
        try {
          const reply = await device.request({
            digitU8: set.digits[pick],
            qos: plan.qos,
            timeoutMs: plan.timeoutMs,
            retryMs: plan.timeoutMs * 2,
          });
          result.latencyMs[i] = performance.now() - at;
          result.status[i] = reply.status;
          if (reply.status !== 0) {
            fail(statusName(reply.status));
            continue;
          }
          result.inferenceMs[i] = reply.inferenceMs;
          result.queueMs[i] = reply.queueMs;
          result.batchSize[i] = reply.batchSize;
          const label = set.labels[pick];
          if (label >= 0) result.correct[i] = reply.predicted === label ? 1 : 0;
        } catch {
          result.latencyMs[i] = performance.now() - at;
          result.status[i] = NO_REPLY;
          fail("TIMEOUT");
        }
        if ((i & 255) === 0) onProgress(result.count);
      }
    }));
  } finally {
    for (const device of devices) device.close();
  }
  result.elapsedMs = performance.now() - started;
  result.processCpuMs = processCpuMs() - cpu;
  return result;
}
