/**
 * The option table's rows of the "Ports, model and engine" group: where the server listens, what it serves and on which engine, in how many instances, listeners and threads.
 * `config.ts` assembles them with the other groups' rows into the one table.
 *
 * @module
 */
import { ENGINE_KINDS, type OptionSpec, PORT } from "./config_spec.ts";

/** The "Ports, model and engine" rows, in the order `--help` lists them. */
export const ESSENTIAL_OPTIONS = [
  {
    flag: "host",
    kind: { type: "string" },
    group: "essentials",
    default: "0.0.0.0",
    help: "address to listen on",
  },
  {
    flag: "port",
    kind: PORT,
    group: "essentials",
    server: true,
    default: "32001",
    help: "board port (legacy and framed); 0 picks a free one and implies --http-port 0",
  },
  {
    flag: "http-port",
    kind: PORT,
    group: "essentials",
    server: true,
    default: "8000",
    help: "HTTP port (Open Inference Protocol, health, metrics, dashboard); 0 picks a free one",
  },
  {
    flag: "no-http",
    kind: { type: "boolean" },
    group: "essentials",
    help: "do not open the HTTP port",
  },
  {
    flag: "model-repository",
    kind: { type: "string" },
    group: "essentials",
    server: true,
    default: new URL("../models", import.meta.url).pathname,
    shown: "models/ of this checkout",
    value: "DIR",
    help: "models as DIR/NAME/VERSION/model.onnx and model.json",
    details: "each model serves its highest valid version",
  },
  {
    flag: "model",
    kind: { type: "string" },
    group: "essentials",
    server: true,
    value: "FILE",
    help: "serve one ONNX file as the default model, version 1, instead of a repository",
  },
  {
    flag: "default-model",
    kind: { type: "string" },
    group: "essentials",
    server: true,
    default: "mnist",
    value: "NAME",
    help: "the model for requests that name none, and for legacy ones",
  },
  {
    flag: "engine",
    kind: { type: "enum", values: ENGINE_KINDS },
    group: "essentials",
    server: true,
    default: "wasm",
    help: "wasm (onnxruntime-web) or native (onnxruntime-node, faster)",
    details:
      "native needs `deno task install:native` once, then `deno task serve:native` (it adds --allow-ffi)",
  },
  {
    flag: "instances",
    kind: { type: "string" },
    group: "essentials",
    default: "auto",
    library: "1",
    value: "K|auto",
    help: "engine instances, each running one batch at a time",
    details: "auto: WASM one per core (at most 16), native one",
  },
  {
    flag: "listeners",
    kind: { type: "int", min: 1, max: 64 },
    group: "essentials",
    server: true,
    default: "1",
    help: "listener Workers sharing the ports' socket work; above 1 needs --unstable-net",
    details: "1: the main thread serves the board and HTTP ports. N: N Workers each listen on " +
      "the board port, its TLS port and the HTTP port (`reusePort`; run " +
      "`deno run --unstable-net`), read and frame what comes (HTTP inference bodies read and " +
      "split too), and forward requests to the one handler on the main thread",
  },
  {
    flag: "threads",
    kind: { type: "string" },
    group: "essentials",
    default: "auto",
    library: "1",
    value: "K|auto",
    help: "runtime threads per instance",
    details: "auto: WASM 1 (independent instances scale better), native one per core (at most 4)",
  },
] as const satisfies readonly OptionSpec[];
