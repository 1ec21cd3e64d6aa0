// The boot file on the harness's board, booting from Storage as at power-on:
// it runs the application the boot state names, checks a download before it
// switches, and goes back to the previous code when new code throws at
// start. (The end-to-end updates, with the real server, are in
// board_update_test.ts.)
import assert from "node:assert/strict";
import { Board, firmwareFor } from "./harness.ts";
import { BOOT_BUDGET, bootCode } from "./boot.ts";
import { installFiles } from "./firmware_output.ts";
import { File } from "./boot_state.ts";
import { checkSubset } from "./check_subset.ts";
import { crc32 } from "../shared/crc32.ts";

/** Boots a board whose Storage holds the first install plus `files`; returns it and its Storage. */
async function boot(
  dir: string,
  files: Record<string, string>,
): Promise<{ board: Board; storage: () => Promise<Record<string, string>> }> {
  const firmware = await firmwareFor(1);
  const storageFile = `${dir}/flash.json`;
  const installed = installFiles(firmware, await bootCode());
  await Deno.writeTextFile(storageFile, JSON.stringify({ ...installed, ...files }));
  const board = await Board.boot({ storageFile });
  return {
    board,
    storage: async () => JSON.parse(await Deno.readTextFile(storageFile)),
  };
}

Deno.test("the boot file fits its 1,024 bytes and keeps to the Espruino subset", async () => {
  const code = await bootCode({ trialMs: 123456, tries: 9 });
  assert.ok(code.length <= BOOT_BUDGET, `${code.length} bytes`);
  assert.deepEqual(checkSubset(code), []);
  assert.ok(code.includes("123456") && code.includes("no reply in 9 boots"));
});

Deno.test("new code that throws at start: the board goes back to the code it had, and says why", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { board, storage } = await boot(dir, {
      [File.APP1]: 'throw new Error("broken")',
      [File.STATE]: JSON.stringify({ a: File.APP1, b: File.APP0, t: 1, v: "mnist-device/2" }),
    });
    await board.waitFor(/^Boot: back to mnist0\.js: Error: broken$/);
    await board.waitFor(/^Ready/);
    assert.equal(board.reboots, 1);
    assert.deepEqual(JSON.parse((await storage())[File.STATE]), {
      a: File.APP0,
      b: File.APP1,
      f: "mnist-device/2",
      r: [6, "mnist-device/2", "Error: broken"],
    });
    await board.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a download whose CRC-32 is wrong is never run: the old code runs and has the report", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const code = 'print("NEW CODE")';
    const bytes = new TextEncoder().encode(code);
    const { board, storage } = await boot(dir, {
      [File.APP1]: code,
      [File.STATE]: JSON.stringify({ d: [File.APP1, "mnist-device/2", crc32(bytes) ^ 1, "", ""] }),
    });
    await board.waitFor(/^Ready/);
    assert.deepEqual(board.matching(/NEW CODE/), []);
    assert.deepEqual(JSON.parse((await storage())[File.STATE]), {
      f: "mnist-device/2",
      r: [5, "mnist-device/2", "CRC-32"],
    });
    await board.close();

    // The right CRC-32 (no token, so no MAC): it runs, on trial.
    const again = await boot(dir, {
      [File.APP1]: code,
      [File.STATE]: JSON.stringify({ d: [File.APP1, "mnist-device/2", crc32(bytes), "", ""] }),
    });
    await again.board.waitFor(/^NEW CODE$/);
    assert.deepEqual(JSON.parse((await again.storage())[File.STATE]), {
      a: File.APP1,
      b: File.APP0,
      t: 2,
      v: "mnist-device/2",
      f: "mnist-device/2",
      r: [3, "mnist-device/2", ""],
    });
    await again.board.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
