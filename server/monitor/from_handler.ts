/**
 * Turns the request handler's `onRequest` event (one per request, whatever
 * the transport) into the monitor's record: wire it as
 * `onRequest: (e) => monitor.request(requestFromHandler(e))`.
 *
 * @example
 * ```ts
 * import { requestFromHandler } from "./from_handler.ts";
 *
 * const scores = new Float32Array(10).fill(0.1);
 * const record = requestFromHandler({
 *   protocol: "framed", peer: "10.0.0.7:5000", command: 1, requestId: 3, status: 0, code: "OK",
 *   error: "", digitU8: new Uint8Array(784), digit: null, digits: 1,
 *   results: [{ scores, predicted: 7, inferenceMs: 0.3, queueMs: 0.2, batchSize: 1, modelVersion: 1 }],
 *   predicted: 7, scores, modelName: "mnist", queueMs: 0.2, inferenceMs: 0.3, batchSize: 1,
 *   modelVersion: 1, totalMs: 0.6, device: null, deviceId: "5ccf7f0a1b2c", identifiedBy: "device",
 *   firmware: "fw/1.0", bytesIn: 792, bytesOut: 96, token: "", model: "", client: "fw/1.0", label: "",
 * });
 * console.log(record.inference, record.digits); // true 1
 * ```
 * @module
 */
import { DIGIT_PIXELS } from "../../shared/codec.ts";
import { Status } from "../../shared/errors.ts";
import { isInference } from "../core/outcome.ts";
import type { RequestEvent } from "../core/request.ts";
import type { DigitSeen, RequestRecord } from "./request_record.ts";

/** The dashboard keeps this many of a request's last digits. */
const SAMPLES = 16;

/** The monitor's record of a handler's event. */
export function requestFromHandler(e: RequestEvent): RequestRecord {
  const results = e.status === Status.OK ? e.results : null;
  let samples: DigitSeen[] | undefined;
  if (results) {
    samples = [];
    for (let i = Math.max(0, results.length - SAMPLES); i < results.length; i++) {
      const at = i * DIGIT_PIXELS;
      const r = results[i];
      samples.push({
        digitU8: e.digitU8 &&
          (results.length === 1 ? e.digitU8 : e.digitU8.subarray(at, at + DIGIT_PIXELS)),
        digit: e.digit &&
          (results.length === 1 ? e.digit : e.digit.subarray(at, at + DIGIT_PIXELS)),
        predicted: r.predicted,
        score: r.scores[r.predicted],
      });
    }
  }
  return {
    protocol: e.protocol,
    // A message that could not be read was most likely an inference: it counts as a failed one.
    inference: isInference(e.command),
    status: e.status,
    digits: results ? results.length : 0,
    durationMs: e.totalMs,
    queueMs: e.queueMs ?? 0,
    computeMs: e.inferenceMs ?? 0,
    model: e.modelName,
    version: e.modelVersion,
    bytesIn: e.bytesIn,
    bytesOut: e.bytesOut,
    peer: e.peer,
    device: e.device,
    deviceId: e.deviceId,
    identifiedBy: e.identifiedBy,
    client: e.firmware || null,
    error: e.error || undefined,
    id: e.label || e.requestId,
    samples,
  };
}
