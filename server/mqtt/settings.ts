/**
 * The `--mqtt*` options, checked: the broker's URL, the shared subscription's
 * group, the CA and the credentials (by flag, `MNIST_MQTT_*` variable or
 * file). `mqttSettings` checks what the command line gave (a mistake is one
 * sentence); `readMqttFiles` reads the CA and password files into what
 * `startServer({ mqtt })` takes.
 *
 * @example
 * ```ts
 * import { mqttSettings } from "./settings.ts";
 *
 * const settings = mqttSettings({ mqtt: "mqtt://broker.lan", mqttGroup: "mnist" }, new Set(["mqtt"]));
 * console.log(settings?.url); // mqtt://broker.lan:1883
 * ```
 * @module
 */

/** What `startServer` takes to serve through a broker. */
export interface MqttOptions {
  /** `mqtt://HOST:PORT` or `mqtts://HOST:PORT`, without credentials. */
  url: string;
  /** The shared subscription's group: `$share/{group}/mnist/+/infer`. */
  group: string;
  /** PEM of the CA that signed the broker's certificate (mqtts). */
  ca?: string;
  username?: string;
  password?: string;
  /** The client id at the broker (unset: `mnist-server-` and a random suffix). */
  clientId?: string;
}

/** The checked options, with files not yet read. */
export interface MqttSettings extends Omit<MqttOptions, "ca" | "password"> {
  caFile?: string;
  password?: string;
  passwordFile?: string;
}

/** A `--mqtt*` value the server cannot use; the message is one sentence. */
export class MqttSettingsError extends Error {
  override name = "MqttSettingsError";
}

/** The option values `mqttSettings` reads (the option table's camel-cased names). */
export interface MqttValues {
  mqtt?: string;
  mqttGroup: string;
  mqttCa?: string;
  mqttUsername?: string;
  mqttPassword?: string;
  mqttPasswordFile?: string;
  mqttClientId?: string;
}

const DEFAULT_PORTS: Record<string, number> = { "mqtt:": 1883, "mqtts:": 8883 };

/** Checks the `--mqtt*` options; null when `--mqtt` is unset. Throws `MqttSettingsError`. */
export function mqttSettings(
  values: MqttValues,
  given: ReadonlySet<string>,
): MqttSettings | null {
  if (values.mqtt === undefined || values.mqtt === "") {
    const stray = [...given].find((flag) => flag.startsWith("mqtt-"));
    if (stray) throw new MqttSettingsError(`--${stray} needs --mqtt URL`);
    return null;
  }
  let url: URL;
  try {
    url = new URL(values.mqtt);
  } catch {
    throw new MqttSettingsError(
      `--mqtt must be a URL such as mqtt://broker.lan:1883, got "${values.mqtt}"`,
    );
  }
  const port = DEFAULT_PORTS[url.protocol];
  if (port === undefined || url.hostname === "") {
    throw new MqttSettingsError(
      `--mqtt must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT], got "${values.mqtt}"`,
    );
  }
  if (url.username || url.password) {
    throw new MqttSettingsError(
      "--mqtt must not carry credentials: give --mqtt-username, and the password in " +
        "MNIST_MQTT_PASSWORD or --mqtt-password-file",
    );
  }
  if ((url.pathname !== "" && url.pathname !== "/") || url.search || url.hash) {
    throw new MqttSettingsError(
      `--mqtt takes no path or query, got "${values.mqtt}"`,
    );
  }
  if (!/^[^/+#\s]{1,64}$/.test(values.mqttGroup)) {
    throw new MqttSettingsError(
      `--mqtt-group must be 1-64 characters without "/", "+", "#" or spaces, got "${values.mqttGroup}"`,
    );
  }
  if (values.mqttCa !== undefined && url.protocol !== "mqtts:") {
    throw new MqttSettingsError("--mqtt-ca needs an mqtts:// broker URL");
  }
  if (
    values.mqttPassword !== undefined && values.mqttPasswordFile !== undefined
  ) {
    throw new MqttSettingsError(
      "--mqtt-password and --mqtt-password-file exclude each other: give one",
    );
  }
  return {
    url: `${url.protocol}//${url.hostname}:${url.port || port}`,
    group: values.mqttGroup,
    caFile: values.mqttCa,
    username: values.mqttUsername,
    password: values.mqttPassword,
    passwordFile: values.mqttPasswordFile,
    clientId: values.mqttClientId,
  };
}

/** Reads the CA and password files; the error names the file and its flag. */
export async function readMqttFiles(
  settings: MqttSettings,
): Promise<MqttOptions> {
  const read = async (path: string, flag: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (e) {
      throw new MqttSettingsError(
        `--${flag} ${path} cannot be read: ${(e as Error).message}`,
      );
    }
  };
  const { caFile, passwordFile, ...options } = settings;
  const result: MqttOptions = { ...options };
  if (caFile !== undefined) result.ca = await read(caFile, "mqtt-ca");
  if (passwordFile !== undefined) {
    result.password = (await read(passwordFile, "mqtt-password-file")).split(/\r?\n/)[0];
  }
  return result;
}
