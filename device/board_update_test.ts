// Code updates over the air, end to end: built bundles installed in the
// harness's boards as `deno task flash` installs them (boot file, mnist0.js,
// digits), booting from their Storage, against the real server with a
// firmware folder and its rollout API.
import assert from "node:assert/strict";
import { Board } from "./harness.ts";
import { bootCode, type TrialOptions } from "./boot.ts";
import { clientName, type Firmware } from "./build.ts";
import { installFiles } from "./firmware_output.ts";
import { ADMIN, firmwareAt, startOtaServer } from "./ota_testing.ts";
import { writeRelease } from "../server/fleet/releases.ts";
import { inCohort } from "../server/fleet/cohort.ts";
import type { InferenceServer } from "../server/inference_server.ts";
import { callHttp } from "../server/testing/releases.ts";
import type { Authorizer } from "../server/auth/authorize.ts";
import { newToken } from "../server/auth/tokens.ts";
import { File } from "./boot_state.ts";
import { Command } from "../shared/codec.ts";
import { encodeReply } from "../shared/reply_codec.ts";
import { decodeRequest } from "../shared/request_codec.ts";
import { WireError } from "../shared/errors.ts";
import { crc32 } from "../shared/crc32.ts";
import { CHUNK_BYTES } from "../shared/update_codec.ts";

/** Board time runs this much faster than the wall clock: trials of 60 s take 6 s, a reply may take 500 ms. */
const SPEED = 10;

interface Fleet {
  server: InferenceServer;
  dir: string;
  /** The firmware every board starts with, and the release offered. */
  old: Firmware;
  release: string;
  boards: Board[];
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
  more: { trial?: TrialOptions; auth?: Authorizer; powerCut?: string } = {},
): Promise<Fleet> {
  const dir = await Deno.makeTempDir({ prefix: "mnist-ota-" });
  const server = await startOtaServer(`${dir}/firmware`, more.auth);
  const old = await firmwareAt(server.addr.port, "1.0.0");
  const release = await publish(`${dir}/firmware`, await newRelease(server.addr.port));
  await callHttp(server, "POST", "/v2/fleet/releases", { token: ADMIN });
  const boot = await bootCode(more.trial);
  const boards: Board[] = [];
  for (const id of ids) {
    const storageFile = `${dir}/${id}.json`;
    await Deno.writeTextFile(storageFile, JSON.stringify(installFiles(old, boot)));
    const board = await Board.boot({
      storageFile,
      serial: id,
      speed: SPEED,
      powerCut: more.powerCut,
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

/**
 * Waits until the rollout's counts per state pass `test`; returns them.
 * Each second the boards not restarted yet send a digit, as a polling
 * board would: a request that failed (a reply timeout on a loaded machine)
 * leaves an update where it was until the next reply.
 */
async function untilCounts(
  f: Fleet,
  id: string,
  test: (counts: Record<string, number>) => boolean,
): Promise<Record<string, number>> {
  let body;
  for (let i = 1; i <= 400; i++) {
    body = (await callHttp(f.server, "GET", `/v2/fleet/rollouts/${id}`, { token: ADMIN })).body;
    if (test(body.counts)) return body.counts;
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (i % 20 == 0) {
      for (const board of f.boards) if (!board.reboots && !board.dead) await board.repl("test()");
    }
  }
  throw new Error(`the rollout stays ${JSON.stringify(body)}`);
}

Deno.test("a rollout to 60% of 5 boards updates exactly those 3, which answer test() with the new version", async () => {
  const ids = serials(5, 3, 0.6);
  const f = await fleet(ids, (port) => firmwareAt(port, "1.0.1"));
  try {
    const id = await rollout(f, 0.6);
    const version = f.release.split("/")[1];
    // Each board's next inference reply carries the offer, if it is in the cohort.
    for (const board of f.boards) await board.answer();
    const counts = await untilCounts(f, id, (c) => c.updated == 3);
    assert.deepEqual([counts.failed, counts.rolled_back, counts.offered], [0, 0, 0]);
    for (const board of f.boards.slice(0, 3)) {
      assert.equal(board.reboots, 1);
      assert.equal(await board.repl("VERSION"), version);
      assert.match(await board.answer(), /^Predicted: (\d), expected: \1$/);
    }
    for (const board of f.boards.slice(3)) {
      assert.equal(await board.repl("VERSION"), f.old.version);
      assert.equal(board.reboots, 0);
      assert.match(await board.answer(), /^Predicted: (\d), expected: \1$/);
    }
  } finally {
    await close(f);
  }
});

Deno.test("a corrupt chunk is refused and fetched again; the update completes", async () => {
  const f = await fleet(serials(1, 1, 1), (port) => firmwareAt(port, "1.0.1"));
  try {
    const id = await rollout(f, 1);
    const [board] = f.boards;
    // Into the first chunk's data: after the offer's reply and the report's.
    board.network({ corruptAt: 700 });
    await board.answer();
    await untilCounts(f, id, (c) => c.updated == 1);
    assert.equal(board.earlier[0].corrupted, 1);
    assert.equal(board.reboots, 1);
    assert.equal(await board.repl("VERSION"), f.release.split("/")[1]);
  } finally {
    await close(f);
  }
});

Deno.test("a board that loses power in the middle of writing boots its old code, then fetches again", async () => {
  const f = await fleet(serials(1, 1, 1), (port) => firmwareAt(port, "1.0.1"), {
    powerCut: File.APP1,
  });
  try {
    const id = await rollout(f, 1);
    const [board] = f.boards;
    await board.answer();
    await board.waitFor(/^HARNESS: power cut$/);
    const storageFile = `${f.dir}/${serials(1, 1, 1)[0]}.json`;
    const files = JSON.parse(await Deno.readTextFile(storageFile));
    assert.match(files[File.APP1], /\xff$/, "the new file is written in part");
    assert.equal(files[File.STATE], "{}", "the boot state is as it was");
    const again = await Board.boot({ storageFile, serial: serials(1, 1, 1)[0], speed: SPEED });
    f.boards[0] = again;
    await again.waitFor(/^Ready/);
    assert.equal(await again.repl("VERSION"), f.old.version);
    await again.answer();
    await untilCounts(f, id, (c) => c.updated == 1);
    assert.equal(await again.repl("VERSION"), f.release.split("/")[1]);
  } finally {
    await close(f);
  }
});

Deno.test("a release whose network code is broken: each board goes back by itself, the rollout pauses", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = closed.addr.port;
  closed.close();
  const f = await fleet(serials(3, 3, 1), () => firmwareAt(port, "1.0.1"), {
    trial: { trialMs: 20000, tries: 2 },
  });
  try {
    const id = await rollout(f, 1);
    for (const board of f.boards) await board.answer();
    const counts = await untilCounts(f, id, (c) => c.rolled_back == 3);
    assert.equal(counts.updated, 0);
    for (const board of f.boards) {
      await board.waitFor(/^Boot: back to mnist0\.js: no reply in 2 boots$/);
      assert.equal(await board.repl("VERSION"), f.old.version);
      assert.match(await board.answer(), /^Predicted: \d, expected: \d$/);
    }
    const state = await callHttp(f.server, "GET", `/v2/fleet/rollouts/${id}`, { token: ADMIN });
    assert.equal(state.body.state, "paused", JSON.stringify(state.body));
  } finally {
    await close(f);
  }
});

/**
 * A host on the LAN that answers as the server would but has no device
 * tokens: every inference reply offers `code` with `mac` (none, or made up),
 * and it serves the chunks of `code`, each with its right CRC-32.
 */
function impostor(release: string, code: string, mac: Uint8Array | null): Deno.Listener {
  const bytes = new TextEncoder().encode(code);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        let buf = new Uint8Array(0);
        const chunk = new Uint8Array(4096);
        for (;;) {
          const n = await conn.read(chunk).catch(() => null);
          if (n === null) return conn.close();
          buf = new Uint8Array([...buf, ...chunk.subarray(0, n)]);
          while (buf.length >= 4) {
            const size = new DataView(buf.buffer).getUint32(0, true);
            if (buf.length < 4 + size) break;
            const request = decodeRequest(buf.slice(4, 4 + size));
            buf = buf.slice(4 + size);
            if (request instanceof WireError) return conn.close();
            const at = request.chunk?.offset ?? 0;
            const data = bytes.subarray(at, at + CHUNK_BYTES);
            await conn.write(encodeReply(
              request.command == Command.INFERENCE_INPUT
                ? {
                  command: Command.INFERENCE_OUTPUT,
                  requestId: request.requestId,
                  scores: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                  update: { release, size: bytes.length, crc32: crc32(bytes), mac },
                }
                : {
                  command: request.command,
                  requestId: request.requestId,
                  chunk: request.command == Command.CODE_CHUNK
                    ? { release, offset: at, data, crc32: crc32(data) }
                    : null,
                },
              true,
            )).catch(() => {});
          }
        }
      })();
    }
  })();
  return listener;
}

Deno.test("with a token: an offer without a MAC, and code whose MAC is not the token's, are refused", async () => {
  const token = newToken();
  const f = await fleet(serials(1, 1, 1), (port) => firmwareAt(port, "1.0.1"));
  const release = f.release;
  const code = await Deno.readTextFile(
    `${f.dir}/firmware/${release}/firmware.js`,
  );
  const noMac = impostor(release, code, null);
  const madeUp = impostor(release, code, new Uint8Array(20).fill(7));
  try {
    const [board] = f.boards;
    await board.repl(`setToken("${token}")`);
    await board.repl(`setServer("127.0.0.1", ${(noMac.addr as Deno.NetAddr).port})`);
    await board.answer("test()", /^Predicted: 0/);
    await board.waitFor(/^Update .* 5 no MAC$/);
    const storageFile = `${f.dir}/${serials(1, 1, 1)[0]}.json`;
    assert.equal(JSON.parse(await Deno.readTextFile(storageFile))[File.APP1], undefined);

    // Every chunk's CRC-32 is right, the file's too: only the MAC tells.
    await board.repl(`setServer("127.0.0.1", ${(madeUp.addr as Deno.NetAddr).port})`);
    await board.repl("load()");
    await board.waitFor(/^Ready/, { from: board.lines.length });
    await board.answer("test()", /^Predicted: 0/);
    await board.waitFor(/^Update .* 5 MAC$/);
    assert.equal(board.reboots, 2);
    assert.equal(await board.repl("VERSION"), f.old.version);
  } finally {
    noMac.close();
    madeUp.close();
    await close(f);
  }
});
