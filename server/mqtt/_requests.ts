/**
 * The requests that reach the server over MQTT (`transport.ts` receives
 * them): each message on `mnist/{device}/infer` goes to the one request
 * handler, and its reply is published, with the request id, on
 * `mnist/{device}/result` or on an MQTT 5 client's response topic with its
 * correlation data, at the request's QoS (0 or 1).
 *
 * Each device (the topic's level) is its own lane of the queue and has its
 * own share of it, so a device flooding its topic gets `SERVER_BUSY` for the
 * excess while the others are served. A payload over `--max-frame` or one
 * that cannot be read gets its error on the result topic. With tokens on, a
 * token of another device than the topic's is refused (`UNAUTHORIZED`).
 *
 * @example
 * ```ts
 * import { MqttRequests } from "./_requests.ts";
 * import { RequestHandler } from "../core/handler.ts";
 * import { Status, WireError } from "../../shared/errors.ts";
 * import { Logger } from "../log.ts";
 * import type { MqttLibraryClient } from "./library.ts";
 *
 * const handler = new RequestHandler({
 *   route: () => new WireError(Status.MODEL_UNAVAILABLE, "no model is loaded"),
 *   stats: () => ({ version: 2, freq: 0, mode: 0, parameters: 0, served: 0, model: "", modelVersion: 0 }),
 *   log: new Logger("error"),
 * });
 * const published: string[] = [];
 * const client = { publish: (topic: string) => published.push(topic) } as unknown as MqttLibraryClient;
 * const requests = new MqttRequests(client, {
 *   url: "mqtt://127.0.0.1:1883", handler, maxFrame: 16384, maxQueued: 4096, minQueueShare: 16,
 * });
 * const topic = "mnist/kitchen/infer", payload = new Uint8Array(3);
 * requests.onMessage(topic, payload, { topic, payload, qos: 0 });
 * // The three unreadable bytes get their error on the result topic; its publish is not acknowledged yet.
 * console.log(published, requests.inFlight); // [ "mnist/kitchen/result" ] 1
 * ```
 * @module
 */
import { peekModel, peekRequestId, peekToken } from "../../shared/request_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { DEVICE_NAME_RULE, isDeviceName } from "../../shared/device_name.ts";
import type { RequestHandler } from "../core/handler.ts";
import type { Outcome, RequestOrigin } from "../core/request.ts";
import { BoardLimits, type QueueShare } from "../tcp/limits.ts";
import type { MqttLibraryClient, PublishPacket, PublishProperties } from "./library.ts";
import { badResponseTopic, encodeMqttReply, resultTopic } from "./topics.ts";

/** What the requests need of the transport's options. */
export interface MqttRequestOptions {
  /** The broker's URL: its host and port are each request's peer. */
  url: string;
  handler: RequestHandler;
  /** Largest payload (`--max-frame`); larger gets `FRAME_TOO_LARGE`. */
  maxFrame: number;
  /** The queue's size and a device's smallest share of it (`--max-queued`, `--min-queue-share`). */
  maxQueued: number;
  minQueueShare: number;
  /**
   * The firmware the fleet last heard a device name: the firmware sends its
   * `client` only on its first request after it connects to the broker, as
   * a board connection's session keeps it. Absent: none is known.
   */
  firmwareOf?: (device: string) => string;
}

/** The requests of one server's shared subscription, and their replies in flight. */
export class MqttRequests {
  #client: MqttLibraryClient;
  #options: MqttRequestOptions;
  #limits: BoardLimits;
  #shares = new Map<string, QueueShare>();
  #inFlight = 0;
  #idle: (() => void)[] = [];

  constructor(client: MqttLibraryClient, options: MqttRequestOptions) {
    this.#client = client;
    this.#options = options;
    this.#limits = new BoardLimits({
      maxConnections: Infinity,
      maxConnectionsPerAddress: Infinity,
      maxBufferedBytes: Infinity,
      maxQueued: options.maxQueued,
      minQueueShare: options.minQueueShare,
    });
  }

  /** Requests whose reply the client has not yet published (its `publish` callback). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** One message of the subscription: handled, or refused, and answered. */
  onMessage(topic: string, payload: Uint8Array, packet: PublishPacket): void {
    const started = performance.now();
    const device = topic.slice("mnist/".length, topic.length - "/infer".length);
    // An id the fleet may key by, as a token's name must be.
    const named = isDeviceName(device);
    const properties = packet.properties;
    const asked = properties?.responseTopic;
    const badTopic = asked ? badResponseTopic(asked, device) : null;
    const replyTo = asked && !badTopic ? asked : resultTopic(device);
    const qos = packet.qos === 0 ? 0 : 1;
    const share = this.#shareOf(device);
    const origin: RequestOrigin = {
      protocol: "mqtt",
      peer: this.#options.url.slice(this.#options.url.indexOf("//") + 2),
      owner: `mqtt:${device}`,
      // A refused id names no device: nothing is kept under it.
      device: named ? device : undefined,
      identity: { address: named ? device : "", protocol: "mqtt" },
      // What the device's first request said: an update offer needs its firmware.
      session: { device: "", client: named ? this.#options.firmwareOf?.(device) ?? "" : "" },
      admit: () => share.admit(),
      release: () => {
        share.release();
        if (share.queued === 0) this.#shares.delete(device);
      },
      encode: encodeMqttReply,
    };
    const send = (outcome: Outcome) => {
      if (share.queued === 0) this.#shares.delete(device);
      this.#reply(replyTo, qos, properties, outcome);
    };
    this.#inFlight++;
    const handler = this.#options.handler;
    let refusal: WireError | null = null;
    if (!named) {
      refusal = new WireError(
        Status.MALFORMED_BUFFER,
        `the topic's device id must be ${DEVICE_NAME_RULE}`,
      );
    } else if (badTopic) {
      refusal = new WireError(Status.MALFORMED_BUFFER, badTopic);
    } else if (payload.length > this.#options.maxFrame) {
      refusal = new WireError(
        Status.FRAME_TOO_LARGE,
        `the request is ${payload.length} bytes; this server takes at most ${this.#options.maxFrame}`,
      );
    }
    if (refusal) {
      send(
        handler.refuse(refusal, origin, {
          requestId: peekRequestId(payload),
          token: peekToken(payload),
          model: peekModel(payload),
          started,
          bytesIn: payload.length,
        }),
      );
      return;
    }
    // The payload's bytes belong to the client library's buffer: the handler copies what it keeps.
    const outcome = handler.handle(payload, origin);
    if (outcome instanceof Promise) outcome.then(send);
    else send(outcome);
  }

  #shareOf(device: string): QueueShare {
    let share = this.#shares.get(device);
    if (!share) {
      share = this.#limits.queueShare();
      this.#shares.set(device, share);
    }
    return share;
  }

  #reply(
    topic: string,
    qos: 0 | 1,
    properties: PublishProperties | undefined,
    outcome: Outcome,
  ): void {
    const correlationData = properties?.correlationData;
    this.#client.publish(
      topic,
      outcome.bytes,
      { qos, properties: correlationData ? { correlationData } : undefined },
      () => {
        if (--this.#inFlight === 0) {
          for (const resolve of this.#idle.splice(0)) {
            resolve();
          }
        }
      },
    );
  }

  /** Resolves when no reply is in flight, or after `ms`. */
  whenIdle(ms: number): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
