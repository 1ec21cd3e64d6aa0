/**
 * What the fuzzer accepts back: every reply must be a valid reply per
 * `decodeReply` (a known command, a known status, an error with a sentence,
 * ten scores in 0..1 that sum to 1, a legacy inference reply of exactly 96
 * bytes), or the server may close. The protocol the server answers in is
 * decided as the server decides it, from the first 12 bytes sent.
 *
 * @example
 * ```ts
 * import { checkReplies } from "./fuzz_check.ts";
 *
 * const problem = checkReplies(new Uint8Array(20), new Uint8Array(0), false);
 * console.log(problem); // null: a close is allowed
 * ```
 * @module
 */
import { CLASSES, Command, LEGACY_REPLY_LENGTH } from "../shared/codec.ts";
import { type DecodedReply, decodeReply } from "../shared/reply_codec.ts";
import { STATUS_NAMES, WireError } from "../shared/errors.ts";
import { detectFraming, FrameDecoder } from "../shared/frame.ts";

/** The most problems a run lists: the first ones (the counts go on). */
export const MAX_PROBLEMS = 10;

/** What is wrong with one decoded reply, or null. `legacy` replies carry no `predicted`. */
export function checkReply(reply: DecodedReply, legacy: boolean): string | null {
  switch (reply.command) {
    case Command.ERROR:
      if (reply.status === 0 || reply.status >= STATUS_NAMES.length) {
        return `an error reply with status ${reply.status}`;
      }
      if (reply.error === "") return `a ${STATUS_NAMES[reply.status]} reply without a sentence`;
      if (reply.scores || reply.stats) return "an error reply that also carries results";
      return null;
    case Command.INFERENCE_OUTPUT: {
      if (reply.status !== 0) return `an inference reply with status ${reply.status}`;
      const scores = reply.scores;
      if (!scores || scores.length !== CLASSES) {
        return `an inference reply with ${scores?.length ?? 0} scores`;
      }
      let sum = 0;
      let best = 0;
      for (let i = 0; i < scores.length; i++) {
        if (!(scores[i] >= 0 && scores[i] <= 1)) return `score ${i} is ${scores[i]}`;
        sum += scores[i];
        if (scores[i] > scores[best]) best = i;
      }
      if (Math.abs(sum - 1) > 1e-3) return `scores sum to ${sum}`;
      if (!legacy && reply.predicted !== best) {
        return `predicted ${reply.predicted} but the best score is ${best}`;
      }
      return null;
    }
    case Command.GET_STATS:
      if (reply.status !== 0 || !reply.stats) return "a stats reply without stats";
      return null;
    default:
      return `a reply with command ${reply.command}`;
  }
}

/**
 * What is wrong with everything a connection got back for the bytes it sent,
 * or null. `reset`: the connection was reset, which may cut the last reply
 * (a reset is a close, not a bad reply).
 */
export function checkReplies(
  sent: Uint8Array,
  received: Uint8Array,
  reset: boolean,
): string | null {
  if (received.length === 0) return null;
  if ((detectFraming(sent) ?? "legacy") === "legacy") {
    const reply = decodeReply(received);
    if (reply instanceof WireError) return reset ? null : `legacy reply undecodable: ${reply}`;
    const problem = checkReply(reply, true);
    if (problem) return `legacy: ${problem}`;
    if (reply.command === Command.INFERENCE_OUTPUT && received.length !== LEGACY_REPLY_LENGTH) {
      return `legacy inference reply of ${received.length} bytes, not ${LEGACY_REPLY_LENGTH}`;
    }
    return null;
  }
  const frames = new FrameDecoder(1 << 20);
  frames.push(received);
  for (let n = 1;; n++) {
    const payload = frames.next();
    if (payload === null) break;
    if (payload instanceof WireError) return `framed reply ${n} cannot be framed: ${payload}`;
    const reply = decodeReply(payload);
    if (reply instanceof WireError) return `framed reply ${n} undecodable: ${reply}`;
    const problem = checkReply(reply, false);
    if (problem) return `framed reply ${n}: ${problem}`;
  }
  if (frames.buffered > 0 && !reset) return `${frames.buffered} bytes of a framed reply cut short`;
  return null;
}
