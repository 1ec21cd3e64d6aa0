/**
 * MQTT.js (npm `mqtt`), loaded only when `--mqtt` is set. It lives in this
 * folder's own `node_modules`, installed by `deno task install:mqtt` from
 * this folder's `deno.json` and `deno.lock`, and is loaded with `require`
 * from here: it is not in the server's import map or lock, so `deno task
 * serve` without `--mqtt` never downloads it. Only the few calls the server
 * and its tests make are typed here.
 *
 * @example
 * ```ts
 * import { loadMqtt, MqttLibraryError } from "./library.ts";
 *
 * const mqtt = loadMqtt();
 * if (!(mqtt instanceof MqttLibraryError)) {
 *   const client = mqtt.connect("mqtt://127.0.0.1:1", { reconnectPeriod: 0 });
 *   client.on("error", () => {});
 *   client.end(true);
 * }
 * ```
 * @module
 */
import { createRequire } from "node:module";

/** What the server says when the package is missing. */
export const MQTT_NOT_INSTALLED =
  "--mqtt needs the MQTT client package (MQTT.js), which is not installed: run 'deno task install:mqtt' once";

/** The library cannot be loaded; the message says what to do. */
export class MqttLibraryError extends Error {
  override name = "MqttLibraryError";
}

/** MQTT 5 properties of a PUBLISH the server reads or writes. */
export interface PublishProperties {
  responseTopic?: string;
  correlationData?: Uint8Array;
}

/** A received PUBLISH as MQTT.js hands it over. */
export interface PublishPacket {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  properties?: PublishProperties;
}

/** Options of `connect` (a subset of MQTT.js's `IClientOptions`). */
export interface MqttConnectOptions {
  protocolVersion?: 4 | 5;
  clientId?: string;
  clean?: boolean;
  username?: string;
  password?: string;
  ca?: string;
  /** Milliseconds between MQTT.js's own reconnects; 0: none (the caller reconnects). */
  reconnectPeriod?: number;
  connectTimeout?: number;
  keepalive?: number;
  resubscribe?: boolean;
  properties?: {
    receiveMaximum?: number;
    sessionExpiryInterval?: number;
    /** The largest packet this client takes: the broker drops larger ones for it. */
    maximumPacketSize?: number;
  };
}

/** The client calls the server and its tests make. */
export interface MqttLibraryClient {
  readonly connected: boolean;
  on(event: "connect", listener: () => void): this;
  on(event: "close" | "offline" | "end", listener: () => void): this;
  on(event: "error", listener: (error: Error) => void): this;
  on(
    event: "message",
    listener: (
      topic: string,
      payload: Uint8Array,
      packet: PublishPacket,
    ) => void,
  ): this;
  subscribe(
    topic: string,
    options: { qos: 0 | 1 },
    callback?: (
      error: Error | null,
      granted?: { topic: string; qos: number }[],
    ) => void,
  ): this;
  unsubscribe(topic: string, callback?: (error?: Error) => void): this;
  publish(
    topic: string,
    payload: Uint8Array | string,
    options: { qos: 0 | 1; properties?: PublishProperties },
    callback?: (error?: Error) => void,
  ): this;
  reconnect(): this;
  end(force?: boolean, callback?: () => void): this;
  removeAllListeners(): this;
}

/** The module's one call the server makes. */
export interface MqttLibrary {
  connect(url: string, options: MqttConnectOptions): MqttLibraryClient;
}

let loaded: MqttLibrary | null = null;

/** Loads MQTT.js from this folder's `node_modules`, once; the error says how to install it. */
export function loadMqtt(): MqttLibrary | MqttLibraryError {
  if (loaded) return loaded;
  const require = createRequire(new URL("./deno.json", import.meta.url));
  try {
    loaded = require("mqtt") as MqttLibrary;
    return loaded;
  } catch (e) {
    const message = (e as Error).message;
    if (/Cannot find module|not found/i.test(message)) {
      return new MqttLibraryError(MQTT_NOT_INSTALLED);
    }
    return new MqttLibraryError(
      `the MQTT client package did not load: ${message}`,
    );
  }
}

/** Whether `deno task install:mqtt` has run (tests skip or fail on it). */
export function mqttInstalled(): boolean {
  try {
    return Deno.statSync(
      new URL("./node_modules/mqtt/package.json", import.meta.url),
    ).isFile;
  } catch {
    return false;
  }
}
