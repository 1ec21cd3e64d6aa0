// Code updates over the air, end to end: built bundles installed in the
// harness's boards as `deno task flash` installs them (boot file, mnist0.js,
// digits), booting from their Storage, against the real server with a
// firmware folder and its rollout API.
import assert from "node:assert/strict";
import { Board } from "./harness.ts";
import { bootCode, type TrialOptions } from "./boot.ts";
import { buildFirmware, clientName, type Firmware, installFiles } from "./build.ts";
import { writeRelease } from "./release.ts";
import { inCohort } from "../server/fleet/cohort.ts";
import { startServer } from "../server/server.ts";
import type { InferenceServer } from "../server/server.ts";
import { Logger } from "../server/log.ts";
import { callHttp } from "../server/testing/releases.ts";

const ADMIN = "admin-token-0123456789";
/** Board time runs this much faster than the wall clock: trials of 60 s take 3 s. */
const SPEED = 20;

interface Fleet {
  server: InferenceServer;
  dir: string;
  /** The firmware every board starts with, and the release offered. */
  old: Firmware;
  release: string;
  boards: Board[];
}

/** Builds firmware `version` for the server at `port` (another port: network code that is broken). */
function firmware(port: number, version: string): Promise<Firmware> {
  return buildFirmware(
    { host: "127.0.0.1", port, protocol: "framed", ssid: "", password: "", token: "", poll: 0 },
    undefined,
    version,
  );
}

/** The release id ("NAME/VERSION") of a firmware. */
function releaseOf(f: Firmware): string {
  return clientName(f.version.slice(f.version.indexOf("+") + 1), f.version.split("+")[0])
    .replace(" ", "/");
}

/** Writes `f` as a release into the server's firmware folder. */
async function publish(dir: string, f: Firmware): Promise<string> {
  await writeRelease(dir, releaseOf(f).replace("/", " "), f.code);
  return releaseOf(f);
}

/** Serials of which exactly `inside` of `count` fall in a cohort of `share`. */
function serials(count: number, inside: number, share: number): string[] {
  const yes: string[] = [], no: string[] = [];
  for (let i = 0; yes.length < inside || no.length < count - inside; i++) {
    const id = `5ccf7f0a-${i.toString(16).padStart(4, "0")}`;
    if (inCohort(id, share)) {
      if (yes.length < inside) yes.push(id);
    } else if (no.length < count - inside) no.push(id);
  }
  return [...yes, ...no];
}

/** A server, a firmware folder, and boards installed with the old firmware, booted and ready. */
async function fleet(
  ids: string[],
  newRelease: (port: number) => Promise<Firmware>,
  trial: TrialOptions = {},
): Promise<Fleet> {
  const dir = await Deno.makeTempDir({ prefix: "mnist-ota-" });
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    httpPort: 0,
    adminToken: ADMIN,
    firmwareDir: `${dir}/firmware`,
    log: new Logger("error", () => {}),
  });
  const old = await firmware(server.addr.port, "1.0.0");
  const release = await publish(`${dir}/firmware`, await newRelease(server.addr.port));
  await callHttp(server, "POST", "/v2/fleet/releases", { token: ADMIN });
  const boot = await bootCode(trial);
  const boards: Board[] = [];
  for (const id of ids) {
    const storageFile = `${dir}/${id}.json`;
    await Deno.writeTextFile(storageFile, JSON.stringify(installFiles(old, boot)));
    const board = await Board.boot({
      storageFile,
      serial: id,
      speed: SPEED,
      echo: Deno.env.get("ECHO") ? (line) => console.log(id, line) : undefined,
    });
    await board.waitFor(/^Ready/);
    boards.push(board);
  }
  return { server, dir, old, release, boards };
}

async function close(f: Fleet): Promise<void> {
  for (const board of f.boards) await board.close();
  await f.server.shutdown();
  await Deno.remove(f.dir, { recursive: true });
}

/** Starts a rollout; returns its id. */
async function rollout(f: Fleet, share: number): Promise<string> {
  const started = await callHttp(f.server, "POST", "/v2/fleet/rollouts", {
    token: ADMIN,
    body: { release: f.release, share },
  });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  return started.body.id;
}

/** Waits until the rollout's counts per state pass `test`; returns them. */
async function until(
  f: Fleet,
  id: string,
  test: (counts: Record<string, number>) => boolean,
): Promise<Record<string, number>> {
  let body;
  for (let i = 0; i < 400; i++) {
    body = (await callHttp(f.server, "GET", `/v2/fleet/rollouts/${id}`, { token: ADMIN })).body;
    if (test(body.counts)) return body.counts;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the rollout stays ${JSON.stringify(body)}`);
}

Deno.test("a rollout to 60% of 5 boards updates exactly those 3, which answer test() with the new version", async () => {
  const ids = serials(5, 3, 0.6);
  const f = await fleet(ids, (port) => firmware(port, "1.0.1"));
  try {
    const id = await rollout(f, 0.6);
    const version = f.release.split("/")[1];
    // Each board's next inference reply carries the offer, if it is in the cohort.
    for (const board of f.boards) await board.answer();
    const counts = await until(f, id, (c) => c.updated == 3);
    assert.deepEqual([counts.failed, counts.rolled_back, counts.offered], [0, 0, 0]);
    for (const board of f.boards.slice(0, 3)) {
      assert.equal(board.reboots, 1);
      assert.equal(await board.repl("VERSION"), version);
      assert.match(await board.answer(), /^Predicted: 0, expected: 0$/);
    }
    for (const board of f.boards.slice(3)) {
      assert.equal(await board.repl("VERSION"), f.old.version);
      assert.equal(board.reboots, 0);
      assert.match(await board.answer(), /^Predicted: 1, expected: 1$/);
    }
  } finally {
    await close(f);
  }
});
