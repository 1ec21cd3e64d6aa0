/**
 * The option table's rows of the "Trust: tokens, TLS, proxies" group: device and operator tokens, legacy clients, TLS and trusted proxies.
 * `config.ts` assembles them with the other groups' rows into the one table.
 *
 * @module
 */
import { MIN_OPERATOR_TOKEN, type OptionSpec, PORT } from "./config_spec.ts";

/** The "Trust: tokens, TLS, proxies" rows, in the order `--help` lists them. */
export const TRUST_OPTIONS = [
  {
    flag: "tokens",
    kind: { type: "string" },
    group: "trust",
    value: "FILE",
    help: "device tokens, one `NAME SHA256HEX` line each (deno task token NAME)",
    details: "reloaded on change; framed requests and HTTP infer then need a token",
  },
  {
    flag: "legacy",
    kind: { type: "enum", values: ["allow", "deny"] },
    group: "trust",
    default: "allow",
    help: "whether legacy clients, which cannot carry a token, are served",
  },
  {
    flag: "legacy-from",
    kind: { type: "string" },
    group: "trust",
    value: "CIDR,...",
    help: "serve legacy clients only from these IPv4/IPv6 ranges",
  },
  {
    flag: "admin-token",
    kind: { type: "string" },
    group: "trust",
    server: true,
    value: "TOKEN",
    help:
      `bearer token (at least ${MIN_OPERATOR_TOKEN} characters) for every change and the operator views`,
    details:
      `changes: POST /v2/repository/index and models/NAME/load|unload, POST /v2/fleet/releases and /v2/fleet/rollouts..., and a model's shadow, canary, promote and rollback; the variable keeps it out of ps; unset: changes answer 403`,
  },
  {
    flag: "metrics-token",
    kind: { type: "string" },
    group: "trust",
    server: true,
    value: "TOKEN",
    help:
      `when set, GET /metrics needs it as a bearer token (at least ${MIN_OPERATOR_TOKEN} characters)`,
  },
  {
    flag: "operator-token",
    kind: { type: "string" },
    group: "trust",
    server: true,
    value: "TOKEN",
    help:
      `bearer token (at least ${MIN_OPERATOR_TOKEN} characters) for the read-only operator views`,
    details:
      `GET /dashboard.json, /v2/models/NAME/stats, /v2/fleet/... and a model's shadow and canary figures; the admin token opens them too; with neither, they are open while device tokens are off and 403 while they are on`,
  },
  {
    flag: "tls-cert",
    kind: { type: "string" },
    group: "trust",
    value: "FILE",
    help: "PEM certificate chain for TLS on the HTTP port and --tls-port",
  },
  {
    flag: "tls-key",
    kind: { type: "string" },
    group: "trust",
    value: "FILE",
    help: "PEM private key of --tls-cert",
  },
  {
    flag: "tls-port",
    kind: PORT,
    group: "trust",
    help: "a second board port inside TLS (ESP32, desktop clients); 0: a free one",
    details: "the ESP8266 cannot speak TLS",
  },
  {
    flag: "trusted-proxy",
    kind: { type: "string" },
    group: "trust",
    value: "CIDR,...",
    help: "peers whose PROXY v2 header (board port) or X-Forwarded-For (HTTP) names the client",
    details: "HAProxy's send-proxy-v2 and option forwardfor",
  },
] as const satisfies readonly OptionSpec[];
