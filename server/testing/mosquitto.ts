/**
 * A real Mosquitto broker for tests and benches: started on a free loopback
 * port with a temporary configuration (anonymous clients allowed), stopped
 * and started again on the same port to play a broker restart. Tests ask
 * `requireMqtt()` first: it needs Debian's `mosquitto` and the MQTT client
 * package (`deno task install:mqtt`).
 *
 * @example
 * ```ts
 * import { Mosquitto, requireMqtt } from "./mosquitto.ts";
 *
 * if (!requireMqtt()) {
 *   const broker = await Mosquitto.start();
 *   console.log(broker.url); // mqtt://127.0.0.1:PORT
 *   await broker.stop();
 * }
 * ```
 * @module
 */
import { mqttInstalled } from "../mqtt/library.ts";
import { requireSetup, requireTool } from "./tools.ts";

/**
 * Whether to ignore the tests that need a broker and the client package
 * (true: skip, with one line saying what to install); throws under
 * `MNIST_REQUIRE_TOOLS=1` when either is missing.
 */
export function requireMqtt(): boolean {
  const noBroker = requireTool("mosquitto", "mosquitto");
  const noClient = requireSetup(
    mqttInstalled(),
    "the MQTT client package: run deno task install:mqtt",
  );
  return noBroker || noClient;
}

/** A port free on loopback now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A Mosquitto process on loopback. */
export class Mosquitto {
  readonly port: number;
  #dir: string;
  #process: Deno.ChildProcess | null = null;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.#dir = dir;
  }

  /** `mqtt://127.0.0.1:PORT`. */
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Starts a broker on a free port; resolves once it accepts connections. */
  static async start(): Promise<Mosquitto> {
    const dir = await Deno.makeTempDir({ prefix: "mnist-mosquitto-" });
    const broker = new Mosquitto(freePort(), dir);
    await Deno.writeTextFile(
      `${dir}/mosquitto.conf`,
      // Many simulated devices and servers' replies in flight: no per-client caps in the way.
      `listener ${broker.port} 127.0.0.1\nallow_anonymous true\npersistence false\n` +
        `max_queued_messages 100000\nmax_inflight_messages 0\n`,
    );
    await broker.restart();
    return broker;
  }

  /** Starts the broker again on the same port (after `kill`). */
  async restart(): Promise<void> {
    this.#process = new Deno.Command("mosquitto", {
      args: ["-c", `${this.#dir}/mosquitto.conf`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: this.port }))
          .close();
        return;
      } catch (e) {
        if (Date.now() > deadline) {
          throw new Error(`mosquitto did not listen: ${e}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /** Kills the broker (SIGKILL: every client loses it at once); `restart` brings it back. */
  async kill(): Promise<void> {
    if (!this.#process) return;
    this.#process.kill("SIGKILL");
    await this.#process.status;
    this.#process = null;
  }

  /** Kills the broker and removes its folder. */
  async stop(): Promise<void> {
    await this.kill();
    await Deno.remove(this.#dir, { recursive: true });
  }
}
