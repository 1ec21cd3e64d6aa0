/**
 * One log line per refused or failed request, at `info`, at most a few a
 * second: past that, the rest of the second is counted and said in one
 * "suppressed N" line once the second is over, even if nothing else fails.
 * A flood of bad requests then costs the log a few lines a second, not one
 * per request.
 *
 * @example
 * ```ts
 * import { RefusalLog } from "./refusal_log.ts";
 * import { Logger } from "../log.ts";
 *
 * const lines: string[] = [];
 * const refusals = new RefusalLog(new Logger("info", (line) => lines.push(line)), 1);
 * for (let i = 0; i < 3; i++) {
 *   refusals.refused(
 *     { protocol: "framed", inference: true, peer: "127.0.0.1:5000", id: i, error: "queue full" },
 *     "SERVER_BUSY",
 *   );
 * }
 * refusals.close(); // says "suppressed 2 ..." now
 * console.log(lines.length); // 2
 * ```
 * @module
 */
import type { Logger } from "../log.ts";

/** What a refusal's line tells. */
export interface Refusal {
  protocol: string;
  /** An inference that failed, rather than a request refused before it ran. */
  inference: boolean;
  peer: string;
  device?: string | null;
  deviceId?: string;
  id?: string | number;
  /** Why, a sentence. */
  error?: string;
}

/** Refused and failed requests' lines, at most `maxLinesPerSecond` a second. */
export class RefusalLog {
  #log: Logger;
  #maxLines: number;
  #lineSecond = -1;
  #linesThisSecond = 0;
  #suppressed = 0;
  #suppressedTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(log: Logger, maxLinesPerSecond: number) {
    this.#log = log;
    this.#maxLines = maxLinesPerSecond;
  }

  /** Logs `event`, refused or failed with `code`, unless this second had its lines. */
  refused(event: Refusal, code: string): void {
    if (!this.#log.enabled("info")) return;
    const second = Math.floor(performance.now() / 1000);
    if (second !== this.#lineSecond) {
      this.#flush();
      this.#lineSecond = second;
      this.#linesThisSecond = 0;
    }
    if (this.#linesThisSecond >= this.#maxLines) {
      this.#suppressed++;
      // Said once the second is over, even if nothing else fails.
      this.#suppressedTimer ??= setTimeout(() => {
        this.#suppressedTimer = undefined;
        this.#flush();
      }, 1000);
      return;
    }
    this.#linesThisSecond++;
    this.#log.info(event.inference ? "request failed" : "request refused", {
      protocol: event.protocol,
      peer: event.peer,
      device: event.deviceId ?? event.device ?? undefined,
      id: event.id,
      code,
      // Sentences show at most 40 characters of a client's value; this bounds any other.
      error: event.error && event.error.length > 300
        ? event.error.slice(0, 300) + "..."
        : event.error,
    });
  }

  /** Says what is still suppressed and stops the timer. */
  close(): void {
    clearTimeout(this.#suppressedTimer);
    this.#suppressedTimer = undefined;
    this.#flush();
  }

  #flush(): void {
    if (this.#suppressed === 0) return;
    this.#log.info(`suppressed ${this.#suppressed} refused or failed request lines`, {
      suppressed: this.#suppressed,
    });
    this.#suppressed = 0;
  }
}
