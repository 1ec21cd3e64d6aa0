/**
 * The MQTT transport: the server is one more subscriber of the fleet's
 * broker. It subscribes to `$share/{group}/mnist/+/infer` (servers of one
 * group split the requests), hands each message's payload, the framed
 * request's FlatBuffer without its length prefix, to the one request
 * handler, and publishes the reply, with the request id, on
 * `mnist/{device}/result` or on an MQTT 5 client's response topic with its
 * correlation data, at the request's QoS (0 or 1).
 *
 * The requests themselves, each device's share of the queue and the
 * replies, are `_requests.ts`'s. The broker is told the largest packet the
 * server takes (MQTT 5's Maximum Packet Size: `--max-frame` and room for a
 * topic and properties), so it never delivers a larger one: it drops it, and
 * its device hears nothing.
 *
 * The broker going away is normal: the client reconnects with exponential
 * back-off and jitter, logs once per outage, and shows its state to the
 * dashboard and `/metrics`; readiness does not depend on it.
 *
 * @example
 * ```ts
 * import { MqttTransport } from "./transport.ts";
 * import { RequestHandler } from "../core/handler.ts";
 * import { Status, WireError } from "../../shared/errors.ts";
 * import { Logger } from "../log.ts";
 *
 * const log = new Logger("error");
 * const handler = new RequestHandler({
 *   route: () => new WireError(Status.MODEL_UNAVAILABLE, "no model is loaded"),
 *   stats: () => ({ version: 2, freq: 0, mode: 0, parameters: 0, served: 0, model: "", modelVersion: 0 }),
 *   log,
 * });
 * const transport = MqttTransport.start({
 *   url: "mqtt://127.0.0.1:1", group: "mnist", handler, log,
 *   maxFrame: 16384, maxQueued: 4096, minQueueShare: 16,
 * });
 * if (!(transport instanceof Error)) await transport.shutdown();
 * ```
 * @module
 */
import type { Logger } from "../log.ts";
import type { MqttSnapshot } from "../monitor/snapshot.ts";
import { loadMqtt, type MqttLibraryClient, type MqttLibraryError } from "./library.ts";
import type { MqttOptions } from "./settings.ts";
import { inferTopic } from "./topics.ts";
import { type MqttRequestOptions, MqttRequests } from "./_requests.ts";

/** What the transport needs of the server. */
export interface MqttTransportOptions extends MqttOptions, MqttRequestOptions {
  log: Logger;
  /** First reconnect delay and its cap, in ms (jittered). */
  reconnectMs?: { first: number; max: number };
}

const RECONNECT = { first: 500, max: 30_000 };
/**
 * Room beside a payload of `--max-frame` in the largest packet the broker may
 * deliver: a topic (at most 65,535 bytes) and a request's properties. A
 * payload a little over the limit still arrives, to be answered
 * `FRAME_TOO_LARGE`; one far over it is never held in memory.
 */
export const PACKET_HEADROOM = 68 * 1024;
/** How long SIGTERM waits for the replies in flight to reach the broker. */
const FLUSH_MS = 5_000;

/** One server's membership of the shared subscription. */
export class MqttTransport {
  readonly url: string;
  readonly subscription: string;
  #client: MqttLibraryClient;
  #options: MqttTransportOptions;
  #log: Logger;
  #requests: MqttRequests;
  #connected = false;
  #since = Date.now();
  #outages = 0;
  #outageStart: number | null = null;
  #attempt = 0;
  #lastError = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopping: Promise<void> | null = null;

  private constructor(
    client: MqttLibraryClient,
    options: MqttTransportOptions,
  ) {
    this.url = options.url;
    this.subscription = `$share/${options.group}/${inferTopic("+")}`;
    this.#client = client;
    this.#options = options;
    this.#log = options.log;
    this.#requests = new MqttRequests(client, options);
    client.on("connect", () => this.#onConnect());
    client.on("close", () => this.#onClose());
    client.on("error", (e) => this.#lastError = e.message);
    client.on(
      "message",
      (topic, payload, packet) => this.#requests.onMessage(topic, payload, packet),
    );
  }

  /** Loads the client library and starts connecting; the broker may be down (it is retried). */
  static start(
    options: MqttTransportOptions,
  ): MqttTransport | MqttLibraryError {
    const mqtt = loadMqtt();
    if (mqtt instanceof Error) return mqtt;
    const client = mqtt.connect(options.url, {
      protocolVersion: 5,
      properties: { maximumPacketSize: options.maxFrame + PACKET_HEADROOM },
      clientId: options.clientId ??
        `mnist-server-${crypto.randomUUID().slice(0, 8)}`,
      clean: true,
      username: options.username,
      password: options.password,
      ca: options.ca,
      // Reconnects are ours: with back-off and jitter, logged once per outage.
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      keepalive: 30,
      resubscribe: false,
    });
    return new MqttTransport(client, options);
  }

  /** The broker's state now. */
  state(): MqttSnapshot {
    return {
      url: this.url,
      group: this.#options.group,
      connected: this.#connected,
      since: this.#since,
      outages: this.#outages,
      inFlight: this.#requests.inFlight,
    };
  }

  /** Unsubscribes (the group's other servers take the requests), answers what is in flight, disconnects. */
  shutdown(): Promise<void> {
    this.#stopping ??= (async () => {
      clearTimeout(this.#timer);
      if (this.#client.connected) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, FLUSH_MS);
          this.#client.unsubscribe(this.subscription, () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      await this.#requests.whenIdle(FLUSH_MS);
      // A graceful end waits for the broker to acknowledge what is still outgoing; a broker that
      // never does must not hold the server's shutdown forever.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FLUSH_MS);
        this.#client.end(false, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.#client.end(true);
    })();
    return this.#stopping;
  }

  #onConnect(): void {
    this.#connected = true;
    this.#since = Date.now();
    this.#attempt = 0;
    if (this.#outageStart !== null) {
      this.#log.info("MQTT broker reachable again", {
        url: this.url,
        down_s: ((Date.now() - this.#outageStart) / 1000).toFixed(1),
      });
      this.#outageStart = null;
    } else {this.#log.info("MQTT connected", {
        url: this.url,
        subscription: this.subscription,
      });}
    this.#client.subscribe(this.subscription, { qos: 1 }, (error, granted) => {
      const refused = error ??
        (granted?.[0] && granted[0].qos > 2 ? new Error("refused") : null);
      if (refused) {
        this.#log.error("MQTT broker refused the subscription", {
          subscription: this.subscription,
          error: refused.message,
        });
      }
    });
  }

  #onClose(): void {
    const was = this.#connected;
    this.#connected = false;
    if (this.#stopping) return;
    if (was) this.#since = Date.now();
    if (this.#outageStart === null) {
      this.#outageStart = Date.now();
      this.#outages++;
      this.#log.warn("MQTT broker unreachable; reconnecting with back-off", {
        url: this.url,
        error: this.#lastError || "connection closed",
      });
    }
    // Full jitter over an exponential range: servers and devices that lost the
    // broker together do not all come back at the same moment.
    const { first, max } = this.#options.reconnectMs ?? RECONNECT;
    const ceiling = Math.min(max, first * 2 ** this.#attempt++);
    const delay = ceiling / 2 + Math.random() * ceiling / 2;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (!this.#stopping) this.#client.reconnect();
    }, delay);
  }
}
