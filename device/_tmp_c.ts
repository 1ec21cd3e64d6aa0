import { buildFirmware } from "./build.ts";
const base = { host: "127.0.0.1", port: 1, ssid: "", password: "", token: "", poll: 0 };
for (const protocol of ["framed", "mqtt"] as const) {
  const f = await buildFirmware({ ...base, protocol }, 99999);
  Deno.writeTextFileSync(`/tmp/mqb/${protocol}.js`, f.code + '\nsetTimeout(function(){print("USAGE " + process.memory().usage)}, 500);\n');
  console.log(protocol, f.size);
}
