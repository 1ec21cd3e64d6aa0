/**
 * Turns the request handler's `onRequest` event (one per request, whatever
 * the transport) into the monitor's `RequestEvent`. The handler's event is
 * described here by the fields this needs, so the two modules stay apart:
 * wire it as `onRequest: (e) => monitor.request(requestFromHandler(e))`.
 *
 * @example
 * ```ts
 * import { requestFromHandler } from "./from_handler.ts";
 *
 * const event = requestFromHandler({
 *   protocol: "framed", peer: "10.0.0.7:5000", command: 1, requestId: 3, status: 0, error: "",
 *   digitU8: new Uint8Array(784), digit: null, predicted: 7, scores: new Float32Array(10),
 *   queueMs: 0.2, inferenceMs: 0.3, totalMs: 0.6, device: null, client: "fw/1.0",
 *   bytesIn: 792, bytesOut: 124,
 * });
 * console.log(event.inference, event.digits); // true 1
 * ```
 * @module
 */
import { Command } from "../../shared/codec.ts";
import { Status } from "../../shared/errors.ts";
import type { Protocol } from "../metrics/metrics.ts";
import type { RequestEvent } from "./monitor.ts";

/** The fields of the handler's event that the monitor reads. */
export interface HandlerEvent {
  protocol: Protocol;
  peer: string;
  /** The command asked (-1 when the message could not be read). */
  command: number;
  requestId: number;
  status: number;
  error: string;
  digitU8: Uint8Array | null;
  digit: Float32Array | null;
  predicted: number | null;
  scores: Float32Array | null;
  queueMs: number | null;
  inferenceMs: number | null;
  totalMs: number;
  device: string | null;
  client: string;
  bytesIn: number;
  bytesOut: number;
}

/** The monitor's event for a handler's event; bytes come from the transport when it counts them. */
export function requestFromHandler(e: HandlerEvent): RequestEvent {
  const served = e.status === Status.OK && e.predicted !== null && e.scores !== null;
  return {
    protocol: e.protocol,
    // A message that could not be read was most likely an inference: it counts as a failed one.
    inference: e.command !== Command.GET_STATS,
    status: e.status,
    digits: served ? 1 : 0,
    durationMs: e.totalMs,
    queueMs: e.queueMs ?? 0,
    computeMs: e.inferenceMs ?? 0,
    bytesIn: e.bytesIn,
    bytesOut: e.bytesOut,
    peer: e.peer,
    device: e.device,
    client: e.client || null,
    error: e.error || undefined,
    id: e.requestId,
    samples: served
      ? [{
        digitU8: e.digitU8,
        digit: e.digit,
        predicted: e.predicted!,
        score: e.scores![e.predicted!],
      }]
      : undefined,
  };
}
