/**
 * The board's side of code updates over the air. It adds no connection and
 * no polling: it listens to the replies of the `Inference` connection the
 * firmware has (`done`, which it calls) and sends its own requests through it, one at a
 * time, right after a reply, written over the same request buffer
 * (`request.ts` `UpdateLayout`). Framed only: legacy replies carry no offer.
 *
 * 1. An inference reply carries an offer (release, size, CRC-32, MAC): the
 *    board reports `DOWNLOADING` and fetches the release 512 bytes at a time
 *    into the application file it does not run (`mnist0.js`/`mnist1.js`),
 *    with `Storage.write(name, chunk, offset, size)`. A chunk whose CRC-32
 *    does not match is refused and fetched again (four times at most). With
 *    a token, an offer without a MAC is refused at once.
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
 * It costs the board variables only while it has work: the firmware makes
 * it when a reply carries an offer (or at start-up) and drops it when
 * `step` returns 0.
 *
 * A request that fails leaves the update where it was: the next reply the
 * board gets, to its next inference request, carries it on. Power lost while
 * fetching leaves the old code's boot state untouched, so it boots the code
 * it had and fetches again from the start when offered again.
 *
 * @example
 * ```ts
 * // In the firmware (bundled by build.ts, which defines the constants):
 * import type { Storage } from "./espruino.ts";
 * import { Inference } from "./inference.ts";
 * import { updater } from "./updater.ts";
 *
 * export function online(server: Inference): void {
 *   let step = updater(server, require("Storage"));
 *   // At start-up: sends a pending report (VERIFIED, UPDATED, ROLLED_BACK), if any.
 *   if (!step()) step = () => 0; // nothing to do: dropped
 *   server.done = step; // then each reply: an offer, a chunk, a report's answer
 * }
 * ```
 * @module
 */
import type { ReplyFields } from "../shared/board_reply.ts";
import type { EspruinoE, Storage } from "./espruino.ts";
import { type BootState, File, type Report, UpdateState as U } from "./boot_state.ts";
import type { Inference } from "./inference.ts";

// The update request's layout (request.ts `UpdateLayout`), from the digit's first byte.
declare const UPDATE_HEAD: string;
declare const OFFSET_AT: number;
declare const STATE_AT: number;
declare const RELEASE_AT: number;
declare const REASON_AT: number;

declare const E: EspruinoE;
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
 * An updater for `server`: `step(reply, cmd)` takes a framed reply (and the
 * command it answered: 1, inference; 4, a chunk; 5, a report), then sends
 * the next update request when there is one and the connection is free;
 * `step()` only sends. It returns 0 once it has nothing left to do.
 */
export function updater(
  server: Inference,
  storage: Storage,
): (r?: ReplyFields, cmd?: number) => unknown {
  const boot: BootState = storage.readJSON(File.STATE, true) || {};
  let job: Job | 0 = 0;
  /** A report of this run (fetching, or failed while fetching), sent before the boot file's. */
  let report: Report | 0 = 0;
  /** Where a download goes: the application file that does not run (the one before, or the second). */
  const file = boot.b || File.APP1;

  return (r?: ReplyFields, cmd?: number) => {
    const j = job;
    if (r) {
      const offer = r.offer;
      const data = r.data as Uint8Array;
      let why = "";
      if (cmd == C.REPORT) {
        // Any answer: the report was heard, and new code on trial reached the server.
        if (report) report = 0;
        else {
          delete boot[boot.r ? "r" : "t"];
          storage.writeJSON(File.STATE, boot);
        }
      } else if (cmd == C.CHUNK) {
        if (r.status || !j) job = 0;
        else if (!data || !data.length || E.CRC32(data) != r.crc) {
          if (++j[5] >= C.BAD_CHUNKS) why = "bad chunks";
        } else {
          j[5] = 0;
          try {
            storage.write(file, data, j[4], j[1]);
            j[4] += data.length;
          } catch (e) {
            why = "" + e;
          }
          if (!why && j[4] >= j[1]) {
            // All of it: the boot file checks it (CRC-32, MAC) and switches, or says why not.
            boot.d = [file, j[0], j[2], j[3], server.token];
            storage.writeJSON(File.STATE, boot);
            load();
            return 1;
          }
        }
      } else if (offer && !j && !report && !boot.r && !boot.t) {
        // A release refused or gone back from is offered again until the
        // report is heard: then the rollout offers it no more.
        job = offer as unknown as Job;
        job.push(0, 0);
        // With a token, only a server that knows it may offer code. No
        // DOWNLOADING report: the server counts the first chunk asked for as one.
        if (server.token && !offer[3]) why = "no MAC";
      }
      if (why) {
        report = [U.FAILED, (job as Job)[0], why];
        job = 0;
      }
    }
    // The boot file's report (verified, failed, rolled back), then a trial's `UPDATED`.
    const next = report || boot.r || (boot.t ? [U.UPDATED, boot.v as string, ""] : 0) ||
      (job ? [0, job[0], ""] : 0);
    // One request at a time: called with a reply, the connection is free;
    // without one (at start-up), none of ours is in flight.
    if (next && !server.busy) {
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
      // Two strings: each its length (under 256), then its characters.
      for (let k = 1; k < 3; k++) {
        const at = k < 2 ? RELEASE_AT : REASON_AT;
        d[at] = (next[k] as string).length;
        d.set(E.toUint8Array(next[k] as string), at + 4);
      }
      server.next = next[0] ? C.REPORT : C.CHUNK;
      server.send();
    }
    // Work left (truthy): a request in flight, or one to send after the next reply.
    return next;
  };
}
