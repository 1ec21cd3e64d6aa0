/**
 * The option table's rows of the "MQTT broker" group: the broker, its group, CA and credentials.
 * `config.ts` assembles them with the other groups' rows into the one table.
 *
 * @module
 */
import type { OptionSpec } from "./config_spec.ts";

/** The "MQTT broker" rows, in the order `--help` lists them. */
export const MQTT_OPTIONS = [
  {
    flag: "mqtt",
    kind: { type: "string" },
    group: "mqtt",
    value: "URL",
    help: "also serve requests through this broker: mqtt://HOST[:PORT] or mqtts://HOST[:PORT]",
    details:
      "requests on mnist/DEVICE/infer, replies on mnist/DEVICE/result; needs `deno task install:mqtt` once",
  },
  {
    flag: "mqtt-group",
    kind: { type: "string" },
    group: "mqtt",
    default: "mnist",
    value: "NAME",
    help: "shared subscription group: servers of one group split the requests",
  },
  {
    flag: "mqtt-ca",
    kind: { type: "string" },
    group: "mqtt",
    value: "FILE",
    help: "PEM certificate of the CA that signed the broker's (mqtts://)",
  },
  {
    flag: "mqtt-username",
    kind: { type: "string" },
    group: "mqtt",
    value: "NAME",
    help: "user name at the broker",
  },
  {
    flag: "mqtt-password",
    kind: { type: "string" },
    group: "mqtt",
    value: "SECRET",
    help: "password at the broker",
    details: "the variable or --mqtt-password-file keeps it out of ps",
  },
  {
    flag: "mqtt-password-file",
    kind: { type: "string" },
    group: "mqtt",
    value: "FILE",
    help: "file whose first line is the password at the broker",
  },
  {
    flag: "mqtt-client-id",
    kind: { type: "string" },
    group: "mqtt",
    value: "ID",
    help: "client id at the broker; unset: mnist-server- and a random suffix",
  },
] as const satisfies readonly OptionSpec[];
