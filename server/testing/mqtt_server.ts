/**
 * The MQTT transport's tests' server and broker: a real server (in this
 * process) subscribed to a real Mosquitto, started and waited for until its
 * MQTT client has connected, and a broker that lives for one test.
 *
 * @example
 * ```ts
 * import { mqttServer, withBroker } from "./mqtt_server.ts";
 * import { requireMqtt } from "./mosquitto.ts";
 *
 * if (!requireMqtt()) {
 *   await withBroker(async (broker) => {
 *     const server = await mqttServer(broker, { maxFrame: 2048 });
 *     console.log(server.mqtt!.state().connected); // true
 *     await server.shutdown();
 *   });
 * }
 * ```
 * @module
 */
import { Logger } from "../log.ts";
import { type ServerOptions } from "../options.ts";
import { startServer } from "../server.ts";
import { type InferenceServer } from "../inference_server.ts";
import { Mosquitto } from "./mosquitto.ts";
import { until } from "./until.ts";

const QUIET = new Logger("error", () => {});

/** A server on loopback (quiet unless `options` give a log) in MQTT group `mnist` of `broker`, once connected to it. */
export async function mqttServer(
  broker: Mosquitto,
  options: ServerOptions = {},
): Promise<InferenceServer> {
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: QUIET,
    mqtt: { url: broker.url, group: "mnist" },
    ...options,
  });
  await until(
    () => server.mqtt!.state().connected,
    "the server's MQTT client connected",
  );
  return server;
}

/** Runs `fn` with a broker of its own, stopped (and its folder removed) after. */
export async function withBroker(
  fn: (broker: Mosquitto) => Promise<void>,
): Promise<void> {
  const broker = await Mosquitto.start();
  try {
    await fn(broker);
  } finally {
    await broker.stop();
  }
}
