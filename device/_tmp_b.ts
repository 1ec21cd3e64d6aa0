import { buildFirmware, EXAMPLE_SETTINGS } from "./build.ts";
const f = await buildFirmware({ ...EXAMPLE_SETTINGS, protocol: "mqtt", port: 1883, device: "d".repeat(64) }, 99999);
Deno.writeTextFileSync("/tmp/mqb/mqtt.js", f.code);
