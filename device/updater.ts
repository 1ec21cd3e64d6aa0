// deno-lint-ignore-file no-this-alias -- Espruino-module style, as in `tcp_client.ts`.
/**
 * The board's side of code updates over the air. It adds no connection and
 * no polling: the `TcpClient` connection the firmware has calls it with
 * each framed reply (`done`), and it sends its own requests through that
 * connection, one at a time, right after a reply, written over the same
 * request buffer (`request.ts` `UpdateLayout`). Framed only: legacy replies
 * carry no offer, and update builds speak no legacy.
 *
 * 1. An inference reply carries an offer (release, size, CRC-32, MAC): the
 *    board fetches the release 512 bytes at a time (the server counts it as
 *    `DOWNLOADING` from the first chunk asked for) into the application file
 *    it does not run (`mnist0.js`/`mnist1.js`), with `Storage.write(name,
 *    chunk, offset, size)`. A chunk whose CRC-32 does not match is refused
 *    and fetched again (four times at most). With a token, an offer without
 *    a MAC is refused at once (`FAILED`, `no MAC`).
 * 2. With the whole file written, it leaves the download in the boot state
 *    (`boot_state.ts`) and restarts (`load()`): the boot file (`boot.ts`)
 *    checks the file's CRC-32 and, with a token, its MAC (HMAC-SHA1 keyed by
 *    the token over the file's SHA-1, so a host without the token cannot
 *    push code), then runs it on trial, or runs the old code, and leaves the
 *    report `VERIFIED` or `FAILED` and a reason.
 * 3. At start-up the application sends the boot file's report, then, on
 *    trial, `UPDATED`: any answer from the server ends the trial. No answer
 *    within a few boots, or an exception at start, and the boot file goes
 *    back to the old code, which reports `ROLLED_BACK` at its start-up.
 *
 * What it needs of the connection is what any transport of the firmware
 * gives: `digit()` (the request buffer), `next` then `send()`, `busy`,
 * `token`, and a call of `done(reply, cmd)` after each framed reply.
 *
 * It costs the board variables only while it has work: its state is three
 * module variables, 0 while idle; the boot state is read when an offer (or
 * a report the boot file left) gives it work and forgotten when it has none.
 *
 * A request that fails leaves the update where it was: the next reply the
 * board gets, to its next inference request, carries it on; four in a row
 * without a good chunk (a wrong CRC-32 counts too) and it fails
 * (`bad chunks`). Power lost while
 * fetching leaves the old code's boot state untouched, so it boots the code
 * it had and fetches again from the start when offered again.
 *
 * @example
 * ```ts
 * // In the firmware (bundled by build.ts, which defines the constants):
 * import { TcpClient } from "./tcp_client.ts";
 * import { updater } from "./updater.ts";
 *
 * export function online(server: TcpClient): void {
 *   server.done = updater; // each framed reply: an offer, a chunk, a report's answer
 *   server.done(); // at start-up: sends a pending report (VERIFIED, UPDATED, ROLLED_BACK), if any
 * }
 * ```
 * @module
 */
import type { ReplyFields } from "../shared/board_reply.ts";
import type { EspruinoE, Storage } from "./espruino.ts";
import { type BootState, File, UpdateState as U } from "./boot_state.ts";
import type { TcpClient } from "./tcp_client.ts";

// The update request's layout (request.ts `UpdateLayout`), from the digit's first byte.
declare const UPDATE_HEAD: string;
declare const OFFSET_AT: number;
declare const STATE_AT: number;
declare const RELEASE_AT: number;
declare const REASON_AT: number;
declare const UPDATE_END: number;

declare const E: EspruinoE;
/** True in a build with updates over the air: only those name Storage here. */
declare const UPDATES: boolean;
declare function require(name: "Storage"): Storage;
declare function atob(base64: string): string;
declare function print(...text: unknown[]): void;
/** Espruino: restart and run the boot code (`.bootcde`) again. */
declare function load(): void;

/** Commands and limits (a `const enum`: inlined). */
const enum C {
  CHUNK = 4,
  REPORT = 5,
  /** Refused chunks in a row before the download fails. */
  BAD_CHUNKS = 4,
}

/**
 * A download under way: the offer as the reply carries it (release, size,
 * CRC-32, MAC as raw bytes), then the bytes written and the bad chunks in a
 * row. The offer's own array, extended: no second copy.
 */
type Job = [string, number, number, string, number, number];

/**
 * Update builds: Storage, named once, for the firmware too (each
 * `require("Storage")` costs the bundle 18 bytes); 0 in the others, which
 * name it where they use it.
 */
export const storage = (
  // `typeof` first: importable under Deno too (the doc example), where nothing defines it.
  typeof UPDATES != "undefined" && UPDATES ? require("Storage") : 0
) as Storage;

// The updater's state: module variables, 0 while it has nothing to do (a
// closure holding them would cost the board variables of its own).
/** The boot state, read when there is work; 0 when there is none. */
let boot: BootState | 0 = 0;
let job: Job | 0 = 0;

/**
 * The updater, a method of the connection (`server.done = updater`):
 * `server.done(reply, cmd)` takes a framed reply (and the command it
 * answered: 1, inference; 4, a chunk; 5, a report), then sends the next
 * update request when there is one and the connection is free;
 * `server.done()` (at start-up) only sends. A reply without an offer finds
 * it idle and costs nothing; it reads the boot state when there is work and
 * forgets it once there is none.
 */
export function updater(this: TcpClient, r?: ReplyFields, cmd?: number): void {
  const server = this;
  if (!boot) {
    if (r && !r.offer) return;
    boot = storage.readJSON(File.STATE, true) || {};
  }
  const state = boot as BootState;
  // Where a download goes: the application file that does not run (the one before, or the second).
  const file = state.b || File.APP1;
  const j = job;
  if (r) {
    const offer = r.offer;
    const data = r.data as Uint8Array;
    let why = "";
    if (cmd == C.REPORT) {
      // Any answer: the report was heard, and new code on trial reached the server.
      delete state[state.r ? "r" : "t"];
      storage.writeJSON(File.STATE, state);
    } else if (cmd == C.CHUNK && r.status) {
      // The server's error (the rollout stopped): the download ends.
      job = 0;
    } else if (cmd == C.CHUNK && j && data && data.length && E.CRC32(data) == r.crc) {
      j[5] = 0;
      try {
        storage.write(file, data, j[4], j[1]);
        j[4] += data.length;
      } catch (e) {
        why = "" + e;
      }
      if (!why && j[4] >= j[1]) {
        // All of it: the boot file checks it (CRC-32, MAC) and switches, or says why not.
        state.d = [file, j[0], j[2], j[3], server.token];
        storage.writeJSON(File.STATE, state);
        return load();
      }
    } else if (j) {
      // A chunk whose CRC-32 is wrong, or a chunk request that failed (no
      // reply, a garbled one), which the next reply to a digit shows: four
      // in a row and the download fails, so a host that offers and does not
      // serve cannot hold the board asking for ever.
      if (++j[5] >= C.BAD_CHUNKS) why = "bad chunks";
    } else if (offer && !state.r && !state.t && offer[0] != state.f) {
      // A release refused or gone back from is offered again until the
      // report is heard: then the rollout offers it no more. The board
      // fetches none twice in a row (`f`), whatever a server offers: a
      // release that failed, or the one it has just switched to.
      job = offer as unknown as Job;
      job.push(0, 0);
      // With a token, only a server that knows it may offer code. No
      // DOWNLOADING report: the server counts the first chunk asked for as one.
      if (server.token && !offer[3]) why = "no MAC";
    }
    if (why) {
      // A report as the boot file leaves one, and the release not to fetch
      // again: Storage keeps both once the report is heard.
      state.r = [U.FAILED, state.f = (job as Job)[0], why];
      job = 0;
    }
  }
  // The boot file's report (verified, failed, rolled back), then a trial's `UPDATED`.
  const next = state.r || (state.t ? [U.UPDATED, state.v as string, ""] : 0) ||
    (job ? [0, job[0], ""] : 0);
  // Nothing left to do: forget the boot state.
  if (!next) boot = 0;
  // One request at a time: called with a reply, the connection is free;
  // without one (at start-up), none of ours is in flight.
  else if (!server.busy) {
    // Two bytes of the 32-bit offset: an application is at most 6 KB.
    const offset = job ? job[4] : 0;
    // State numbers as the schema's UpdateState: 2 fetching (said when the
    // first chunk is asked for), 3 verified, 4 updated, 5 failed, 6 rolled back.
    if (next[0] || !offset) print("Update", next[1], next[0] || U.DOWNLOADING, next[2]);
    const d = server.digit();
    d.fill(0);
    d.set(E.toUint8Array(atob(UPDATE_HEAD)));
    d[STATE_AT] = next[0];
    d[OFFSET_AT] = offset;
    d[OFFSET_AT + 1] = offset >> 8;
    // Two strings: each its length, then its characters, cut to the room
    // the request has for them (`MAX_RELEASE_ID` of shared/update_codec.ts, `REASON_MAX` of request.ts:
    // its length, the characters and a 0 before the next field), as a longer
    // one (an offer's release, an exception's text) would make the request
    // unreadable, and the report never heard.
    for (let k = 1; k < 3; k++) {
      const at = k < 2 ? RELEASE_AT : REASON_AT;
      const text = (next[k] as string).substr(
        0,
        k < 2 ? REASON_AT - RELEASE_AT - 5 : UPDATE_END - REASON_AT - 5,
      );
      d[at] = text.length;
      d.set(E.toUint8Array(text), at + 4);
    }
    server.next = next[0] ? C.REPORT : C.CHUNK;
    server.send();
  }
}
