/**
 * A simulated board on MQTT, for tests and benches: one client connection
 * per device, requests on `mnist/{device}/infer` (the framed request's
 * FlatBuffer without its length prefix), replies on `mnist/{device}/result`
 * matched by request id. At QoS 1 a device republishes a request that has
 * no reply after `retryMs` (MQTT's at-least-once, end to end: a server that
 * dies holding a request never answers it, the group's others do); at QoS 0
 * it does not.
 *
 * @example
 * ```ts
 * import { MqttDevice } from "./mqtt_device.ts";
 * import { Mosquitto, requireMqtt } from "./mosquitto.ts";
 *
 * if (!requireMqtt()) {
 *   const broker = await Mosquitto.start();
 *   const device = await MqttDevice.connect(broker.url, "kitchen");
 *   device.close();
 *   await broker.stop();
 * }
 * ```
 * @module
 */
import { Command } from "../../shared/codec.ts";
import { type DecodedReply, decodeReply } from "../../shared/reply_codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { WireError } from "../../shared/errors.ts";
import { loadMqtt, type MqttLibraryClient } from "../mqtt/library.ts";

/** What a request may add to a digit. */
export interface DeviceRequest {
  digitU8: Uint8Array;
  qos?: 0 | 1;
  token?: string;
  /** The model asked for ("" or absent: the default). */
  model?: string;
  /** The request's `client` and `device` fields (absent: none, as after a board's first request). */
  client?: string;
  device?: string;
  /** Republish after this long without a reply (QoS 1 only; default 1,000 ms). */
  retryMs?: number;
  /** Give up (reject) after this long (default 30,000 ms). */
  timeoutMs?: number;
  /** Publish on another device's topic (to test refusals). */
  topicDevice?: string;
  /** Publish this payload instead of the encoded request. */
  payload?: Uint8Array;
  /** The command (absent: `INFERENCE_INPUT`; `GET_STATS` sends no digit). */
  command?: number;
  /** Pad the encoded request with zeros to this many bytes (a payload over `--max-frame`). */
  padTo?: number;
}

interface Pending {
  resolve: (reply: DecodedReply) => void;
  timers: ReturnType<typeof setTimeout>[];
}

/** One simulated device with its own connection to the broker. */
export class MqttDevice {
  readonly name: string;
  readonly client: MqttLibraryClient;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  /** Replies whose request id was not pending (duplicates of a republished request). */
  duplicates = 0;

  private constructor(name: string, client: MqttLibraryClient) {
    this.name = name;
    this.client = client;
    client.on("message", (_topic, payload) => this.#onReply(payload));
  }

  /** Connects (reconnecting by itself every 200 ms when the broker goes away) and subscribes to its result topic. */
  static connect(
    url: string,
    name: string,
    protocolVersion: 4 | 5 = 4,
  ): Promise<MqttDevice> {
    const mqtt = loadMqtt();
    if (mqtt instanceof Error) throw mqtt;
    const client = mqtt.connect(url, {
      protocolVersion,
      clientId: `device-${name}-${crypto.randomUUID().slice(0, 6)}`,
      clean: true,
      reconnectPeriod: 200,
      resubscribe: true,
    });
    client.on("error", () => {});
    const device = new MqttDevice(name, client);
    return new Promise((resolve, reject) => {
      client.on("connect", () => {
        client.subscribe(`mnist/${name}/result`, { qos: 1 }, (error) => {
          if (error) reject(error);
          else resolve(device);
        });
      });
    });
  }

  /** Sends one digit; resolves with its reply (the first, if republished), rejects on timeout. */
  request(options: DeviceRequest): Promise<DecodedReply> {
    const requestId = this.#nextId++;
    const qos = options.qos ?? 1;
    const encoded = options.payload ?? encodeRequest({
      command: options.command ?? Command.INFERENCE_INPUT,
      requestId,
      digitU8: options.command === Command.GET_STATS ? null : options.digitU8,
      token: options.token,
      model: options.model,
      client: options.client,
      device: options.device,
    }, true).subarray(4);
    const payload = options.padTo && options.padTo > encoded.length
      ? new Uint8Array(options.padTo)
      : encoded;
    if (payload !== encoded) payload.set(encoded);
    const topic = `mnist/${options.topicDevice ?? this.name}/infer`;
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, timers: [] };
      this.#pending.set(requestId, pending);
      const publish = () => this.client.publish(topic, payload, { qos });
      publish();
      if (qos === 1) {
        const retry = setInterval(publish, options.retryMs ?? 1_000);
        pending.timers.push(retry);
      }
      pending.timers.push(setTimeout(() => {
        this.#settle(requestId);
        reject(new Error(`${this.name}: request ${requestId} had no reply`));
      }, options.timeoutMs ?? 30_000));
    });
  }

  /** Requests without a reply yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Disconnects at once; pending requests stay unanswered. */
  close(): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id);
    this.client.end(true);
  }

  #onReply(payload: Uint8Array): void {
    const reply = decodeReply(payload);
    if (reply instanceof WireError) return;
    const pending = this.#settle(reply.requestId);
    if (pending) pending.resolve(reply);
    else this.duplicates++;
  }

  #settle(requestId: number): Pending | undefined {
    const pending = this.#pending.get(requestId);
    if (!pending) return undefined;
    this.#pending.delete(requestId);
    for (const timer of pending.timers) clearTimeout(timer);
    return pending;
  }
}
