// The releases and rollouts routes on a real server: releases are loaded,
// listed and rescanned, a release whose file does not match its manifest is
// refused with a log line and never offered, bodies are checked, and who may
// read and change is as the contracts say.
import assert from "node:assert/strict";
import { Authorizer } from "../auth/authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "../auth/tokens.ts";
import { writeRelease } from "../fleet/releases.ts";
import { recordingLogger, withServer } from "../testing/server.ts";
import { callHttp, fakeFirmware, NAME, releaseDir } from "../testing/releases.ts";
import { crc32 } from "../../shared/crc32.ts";

const ADMIN = "admin-token-0123456789";
const OPERATOR = "operator-token-0123456789";

Deno.test("releases: listed with their checksums; a tampered one is refused and logged; a rescan finds new ones", async () => {
  const code = fakeFirmware(900, 3);
  const dir = await releaseDir({ "1.0.1": code, "1.0.2": fakeFirmware(700, 4) });
  await Deno.writeTextFile(`${dir}/${NAME}/1.0.2/firmware.js`, "tampered");
  const { log, lines } = recordingLogger("info");
  try {
    await withServer({ httpPort: 0, adminToken: ADMIN, firmwareDir: dir, log }, async (server) => {
      const listed = await callHttp(server, "GET", "/v2/fleet/releases", { token: ADMIN });
      assert.equal(listed.status, 200);
      assert.equal(listed.body.releases.length, 1);
      const bytes = new TextEncoder().encode(code);
      assert.deepEqual(
        { ...listed.body.releases[0], sha256: undefined },
        { name: NAME, version: "1.0.1", size: 900, crc32: crc32(bytes), sha256: undefined },
      );
      assert.match(listed.body.releases[0].sha256, /^[0-9a-f]{64}$/);
      assert.equal(listed.body.refused[0].release, `${NAME}/1.0.2`);
      assert.match(listed.body.refused[0].error, /does not match release.json: size/);
      assert.ok(lines.some((l) => l.includes("release refused") && l.includes("1.0.2")));

      const tampered = await callHttp(server, "POST", "/v2/fleet/rollouts", {
        token: ADMIN,
        body: { release: `${NAME}/1.0.2`, share: 1 },
      });
      assert.equal(tampered.status, 404);
      assert.match(tampered.body.error, /^UPDATE_UNAVAILABLE: no release/);

      await writeRelease(dir, `${NAME} 1.0.3`, fakeFirmware(100, 5));
      const rescanned = await callHttp(server, "POST", "/v2/fleet/releases", { token: ADMIN });
      assert.deepEqual(
        rescanned.body.releases.map((r: { version: string }) => r.version),
        ["1.0.1", "1.0.3"],
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rollouts: bodies are checked, one open rollout per firmware name, listed with counts", async () => {
  const dir = await releaseDir({ "1.0.1": fakeFirmware(600, 1), "1.0.2": fakeFirmware(600, 2) });
  try {
    await withServer({ httpPort: 0, adminToken: ADMIN, firmwareDir: dir }, async (server) => {
      const post = (body: unknown) =>
        callHttp(server, "POST", "/v2/fleet/rollouts", { token: ADMIN, body });
      for (
        const [body, pattern] of [
          [{ release: `${NAME}/1.0.1` }, /exactly one of "share"/],
          [{ release: `${NAME}/1.0.1`, share: 1.5 }, /"share" must be/],
          [{ release: `${NAME}/1.0.1`, devices: [] }, /"devices" must be/],
          [{ release: `${NAME}/1.0.1`, devices: ["addr:10.0.0.7"] }, /"devices" must be/],
          [{ release: `${NAME}/1.0.1`, devices: ["kitchen "] }, /"devices" must be/],
          [{ release: `${NAME}/1.0.1`, share: 0.5, per_minute: 0 }, /"per_minute"/],
          [{ release: "no-slash", share: 0.5 }, /NAME\/VERSION/],
          [{ release: `${NAME}/1.0.1`, share: 0.5, canary: true }, /unknown field "canary"/],
          [[1, 2], /JSON object/],
        ] as const
      ) {
        const answer = await post(body);
        assert.equal(answer.status, 400, JSON.stringify(body));
        assert.match(answer.body.error, /^MALFORMED_BUFFER: /);
        assert.match(answer.body.error, pattern);
      }
      const first = await post({ release: `${NAME}/1.0.1`, share: 0.25 });
      assert.equal(first.status, 201);
      assert.equal(first.body.id, "r1");
      assert.equal(first.body.per_minute, 100, "the option table's --rollout-per-minute");
      const second = await post({ release: `${NAME}/1.0.2`, devices: ["x"], per_minute: 5 });
      assert.equal(second.status, 409);
      assert.match(second.body.error, /^BAD_UPDATE: rollout r1 .* is running/);
      await callHttp(server, "POST", "/v2/fleet/rollouts/r1/stop", { token: ADMIN });
      assert.equal((await post({ release: `${NAME}/1.0.2`, devices: ["x"] })).status, 201);
      const list = await callHttp(server, "GET", "/v2/fleet/rollouts", { token: ADMIN });
      assert.deepEqual(
        list.body.rollouts.map((r: { id: string; state: string }) => [r.id, r.state]),
        [["r1", "stopped"], ["r2", "running"]],
      );
      assert.equal(list.body.rollouts[1].counts.offered, 0);
      const missing = await callHttp(server, "GET", "/v2/fleet/rollouts/r9", { token: ADMIN });
      assert.equal(missing.status, 404);
      const wrongMethod = await callHttp(server, "GET", "/v2/fleet/rollouts/r1/pause", {
        token: ADMIN,
      });
      assert.equal(wrongMethod.status, 405);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rollout routes: the admin changes, the operator views, a device token does neither", async () => {
  const dir = await releaseDir({ "1.0.1": fakeFirmware(600, 1) });
  const device = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, tokenLine("porch", device) + "\n");
  const tokens = await DeviceTokens.open(`${dir}/tokens`);
  const body = { release: `${NAME}/1.0.1`, share: 1 };
  try {
    const auth = new Authorizer({ tokens });
    await withServer(
      { httpPort: 0, adminToken: ADMIN, operatorToken: OPERATOR, firmwareDir: dir, auth },
      async (server) => {
        const call = (method: string, path: string, token?: string) =>
          callHttp(server, method, path, { token, body: method === "POST" ? body : undefined });
        assert.equal((await call("POST", "/v2/fleet/rollouts", OPERATOR)).status, 401);
        assert.equal((await call("POST", "/v2/fleet/rollouts", device)).status, 401);
        assert.equal((await call("POST", "/v2/fleet/releases", OPERATOR)).status, 401);
        assert.equal((await call("POST", "/v2/fleet/rollouts", ADMIN)).status, 201);
        assert.equal((await call("POST", "/v2/fleet/rollouts/r1/pause", OPERATOR)).status, 401);
        assert.equal((await call("GET", "/v2/fleet/rollouts/r1", OPERATOR)).status, 200);
        assert.equal((await call("GET", "/v2/fleet/releases", OPERATOR)).status, 200);
        assert.equal((await call("GET", "/v2/fleet/releases", device)).status, 401);
        assert.equal((await call("GET", "/v2/fleet/rollouts", undefined)).status, 401);
      },
    );
    // Without an admin token, changes are closed to everyone; with tokens on, views too.
    await withServer(
      { httpPort: 0, firmwareDir: dir, auth: new Authorizer({ tokens }) },
      async (server) => {
        const change = await callHttp(server, "POST", "/v2/fleet/rollouts", { token: ADMIN, body });
        assert.equal(change.status, 403);
        assert.equal((await callHttp(server, "GET", "/v2/fleet/releases")).status, 403);
      },
    );
  } finally {
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rollouts: a body that stops mid-way is refused at --http-body-timeout-ms and creates nothing", async () => {
  const dir = await releaseDir({ "1.0.1": fakeFirmware(600, 1) });
  try {
    const options = { httpPort: 0, adminToken: ADMIN, firmwareDir: dir, httpBodyTimeoutMs: 300 };
    await withServer(options, async (server) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.http!.addr.port });
      const head = `POST /v2/fleet/rollouts HTTP/1.1\r\nhost: x\r\n` +
        `authorization: Bearer ${ADMIN}\r\ncontent-length: 60\r\n\r\n{"release":`;
      await conn.write(new TextEncoder().encode(head));
      const giveUp = setTimeout(() => conn.close(), 5000);
      const bytes = new Uint8Array(4096);
      const n = await conn.read(bytes).catch(() => null);
      clearTimeout(giveUp);
      conn.close();
      const answer = new TextDecoder().decode(bytes.subarray(0, n ?? 0));
      assert.match(answer, /^HTTP\/1.1 400 /, answer || "no answer");
      assert.match(answer, /MALFORMED_BUFFER: the body did not arrive within 300 ms \(11 bytes/);
      const listed = await callHttp(server, "GET", "/v2/fleet/rollouts", { token: ADMIN });
      assert.deepEqual(listed.body.rollouts, []);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
