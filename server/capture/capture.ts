/**
 * Opt-in capture of what the boards send (`--capture DIR --capture-rule
 * RULE`): the digits a rule picks (`capture_rule.ts`: unsure answers,
 * disagreements with a shadow candidate, a random sample), each with the
 * scores of every version that saw it, the device it came from and the
 * time, for people to label and retrain on (`deno task label`, `deno task
 * train --from-capture DIR`).
 *
 * Cheap on the hot path: `offer()` compares a score, maybe draws one random
 * number and, for the few kept, encodes one record into memory
 * (`_capture_record.ts`); a timer appends the lines to the current file in
 * one write (`_capture_writer.ts`). Bounded: files rotate
 * at `fileBytes`, the oldest are deleted past `maxBytes` (the newest hard
 * cases matter most, and a full folder never stops capture), and when the
 * disk falls behind, records beyond `maxPending` are dropped (counted) rather
 * than held. A failing disk drops records with a log line; nothing throws at
 * the caller or waits for the disk.
 *
 * Format, one JSON object per line (`capture-<process>-<n>.jsonl`):
 * `{"id","time","model","version","device","prediction","confidence","reason",
 * "scores","shadow","pixels"}`: `version`, `prediction` and `confidence` are
 * the answering version's; `reason` the rule's term that kept it; `scores`
 * maps each version that saw the digit to its 10 scores; `shadow` is the
 * shadow candidate's version when one compared it; `pixels` is base64 of 784
 * bytes, row-major, 0 = background … 255 = ink.
 *
 * @example
 * ```ts
 * import { DigitCapture } from "./capture.ts";
 * import { readCaptures } from "./capture_read.ts";
 *
 * // A server keeps unsure digits with `--capture /var/lib/mnist/capture --capture-rule below:0.6`;
 * // here every digit is kept, in a folder of its own.
 * const dir = await Deno.makeTempDir({ prefix: "capture-" });
 * const capture = await DigitCapture.open({ dir, rule: "sample:1" });
 * capture.offer(new Float32Array(784), {
 *   model: "mnist", version: 1, device: "10.0.0.7", scores: new Float32Array(10),
 * });
 * await capture.close(); // writes what is pending
 * for await (const record of readCaptures(dir)) console.log(record.id, record.prediction);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { argmax } from "../../shared/codec.ts";
import { Buffer } from "node:buffer";
import { tableDefault } from "../config.ts";
import type { Logger } from "../log.ts";
import type { ShadowEvent } from "../rollout/shadow_event.ts";
import { captureFiles, type CaptureRecord } from "./capture_read.ts";
import { type CaptureContext, captureRecord, rounded, toBytes } from "./_capture_record.ts";
import { CaptureWriter } from "./_capture_writer.ts";
import {
  type CaptureReason,
  captureReason,
  type CaptureRule,
  parseCaptureRule,
} from "./capture_rule.ts";

/** Options of `DigitCapture.open`. */
export interface CaptureOptions {
  dir: string;
  /** Which digits to keep: a rule or its text (`below:0.6,disagree,sample:0.01`). */
  rule: CaptureRule | string;
  /** Draws the `sample` term's numbers (default `Math.random`). */
  random?: () => number;
  /** Most bytes of captures kept in `dir`; the oldest files go first (default: `--capture-max-mb`'s). */
  maxBytes?: number;
  /** A file is closed and the next one started past this size (default maxBytes / 10). */
  fileBytes?: number;
  /** How often the buffered lines are written, ms (default 1,000). */
  flushMs?: number;
  /** Lines held while a write is slow; more are dropped (default 10,000, about 12 MB). */
  maxPending?: number;
  log?: Logger;
}
/** A capture folder that cannot be made or read; the message is one sentence. */
export class CaptureError extends Error {
  override name = "CaptureError";
}

/** Keeps the digits a rule picks in size-bounded JSON-lines files; see the module doc. */
export class DigitCapture {
  readonly dir: string;
  readonly rule: CaptureRule;
  readonly maxBytes: number;
  readonly fileBytes: number;
  /** Digits written (or waiting to be). */
  captured = 0;
  /** Sampled digits dropped because the disk fell behind or failed. */
  dropped = 0;
  #process = `${new Date().toISOString().replace(/[-:]|\.\d+/g, "")}-${
    crypto.randomUUID().slice(0, 8)
  }`;
  #sequence = 0;
  /** The files the lines go to. */
  #writer: CaptureWriter;
  /** Records not written yet; a shadow's scores may still join those it has not seen. */
  #pending: CaptureRecord[] = [];
  #byPixels = new Map<string, CaptureRecord>();
  #maxPending: number;
  #random: () => number;
  #timer: ReturnType<typeof setInterval>;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  #log: Logger | undefined;

  private constructor(options: CaptureOptions, files: { path: string; size: number }[]) {
    this.dir = options.dir;
    this.rule = typeof options.rule === "string" ? parseCaptureRule(options.rule) : options.rule;
    this.#random = options.random ?? Math.random;
    this.maxBytes = options.maxBytes ?? tableDefault("capture-max-mb") * 1024 * 1024;
    this.fileBytes = Math.min(
      this.maxBytes,
      options.fileBytes ?? Math.max(4096, Math.floor(this.maxBytes / 10)),
    );
    this.#maxPending = options.maxPending ?? 10_000;
    this.#writer = new CaptureWriter({
      dir: this.dir,
      process: this.#process,
      maxBytes: this.maxBytes,
      fileBytes: this.fileBytes,
    }, files);
    this.#log = options.log;
    this.#timer = setInterval(() => void this.flush(), options.flushMs ?? 1_000);
  }

  /**
   * Creates `dir` if needed and takes stock of the captures already in it;
   * a rule's text that cannot be read throws a `CaptureRuleError`, a folder
   * that cannot be made or read a `CaptureError`.
   */
  static async open(options: CaptureOptions): Promise<DigitCapture> {
    if (typeof options.rule === "string") parseCaptureRule(options.rule);
    const files: { path: string; size: number }[] = [];
    try {
      await Deno.mkdir(options.dir, { recursive: true });
      for (const path of await captureFiles(options.dir)) {
        files.push({ path, size: (await Deno.stat(path)).size });
      }
    } catch (e) {
      throw new CaptureError(
        `the capture folder ${options.dir} cannot be made or read: ${(e as Error).message}`,
      );
    }
    return new DigitCapture(options, files);
  }

  /** Bytes of captures in `dir`, including lines not yet written. */
  get bytes(): number {
    return this.#writer.bytes;
  }

  /**
   * Keeps this digit when the rule picks it; returns whether it did. Never
   * waits for the disk. The server offers each answered digit here, before
   * any shadow has seen it; `shadowed()` adds what a shadow says later.
   */
  offer(digit: Float32Array | Uint8Array, context: CaptureContext): boolean {
    if (this.#closed) return false;
    const prediction = argmax(context.scores);
    const shadow = context.shadow;
    const reason = captureReason(this.rule, {
      confidence: context.scores[prediction],
      disagrees: shadow ? argmax(shadow.scores) !== prediction : null,
    }, this.#random);
    return reason !== null && this.#keep(toBytes(digit), context, reason);
  }

  /**
   * What a shadow candidate answered for a digit the serving version
   * answered before: its scores join the digit's record when the digit was
   * kept and its record is not written yet (records wait up to `flushMs`);
   * otherwise a disagreement is kept under the rule's `disagree` term (the
   * other terms were asked when the digit was answered).
   */
  shadowed(event: ShadowEvent): boolean {
    if (this.#closed || (this.#byPixels.size === 0 && (event.agree || !this.rule.disagree))) {
      return false;
    }
    const bytes = toBytes((event.digitU8 ?? event.digit)!);
    const pending = this.#byPixels.get(Buffer.from(bytes).toString("base64"));
    const { serving, candidate } = event;
    if (pending && pending.version === serving.version && pending.shadow === undefined) {
      pending.scores![candidate.version] = rounded(candidate.scores);
      pending.shadow = candidate.version;
      return true;
    }
    if (event.agree || !this.rule.disagree) return false;
    const context = {
      model: event.model,
      version: serving.version,
      device: event.deviceId,
      scores: serving.scores,
      shadow: candidate,
    };
    return this.#keep(bytes, context, "disagree");
  }

  #keep(bytes: Uint8Array, context: CaptureContext, reason: CaptureReason): boolean {
    if (this.#pending.length >= this.#maxPending) {
      this.dropped++;
      return false;
    }
    const record = captureRecord(`${this.#process}-${++this.#sequence}`, bytes, context, reason);
    this.#pending.push(record);
    if (!context.shadow) this.#byPixels.set(record.pixels, record);
    this.captured++;
    return true;
  }

  /** Writes what is buffered; resolves when it is on disk. */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  /** Writes what is buffered and stops. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.flush();
    this.#writer.close();
  }

  async #write(): Promise<void> {
    if (this.#pending.length === 0) return;
    const lines = this.#pending;
    this.#pending = [];
    this.#byPixels.clear();
    const bytes = new TextEncoder().encode(
      lines.map((record) => JSON.stringify(record) + "\n").join(""),
    );
    try {
      await this.#writer.append(bytes);
    } catch (e) {
      this.dropped += lines.length;
      this.captured -= lines.length;
      this.#log?.warn("capture write failed; digits dropped", {
        dir: this.dir,
        dropped: lines.length,
        error: (e as Error).message,
      });
    }
  }
}
