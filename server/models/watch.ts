/**
 * What makes the server look at its model repository again: a change under
 * the folder (`Deno.watchFs`, debounced so a copy is one rescan, not one per
 * write), a timer (`--poll-seconds`, for file systems where watching fails:
 * NFS, some container mounts), `SIGHUP`, and `trigger()` for anyone else (the
 * HTTP repository routes). Each calls `rescan(reason)`; rescans never overlap,
 * and triggers that arrive during one are folded into one more run after it.
 *
 * @example
 * ```ts
 * import { RepositoryWatcher } from "./watch.ts";
 *
 * const watcher = RepositoryWatcher.start({
 *   root: "models",
 *   pollSeconds: 30,
 *   rescan: async (reason) => console.log("rescan because of", reason),
 * });
 * await watcher.trigger("request"); // resolves once that rescan has run
 * watcher.close();
 * ```
 * @module
 */
import { tableDefault } from "../config.ts";
import type { Logger } from "../log.ts";

/** What caused a rescan. */
export type RescanReason = "watch" | "poll" | "sighup" | "request";

/** How often to poll when watching fails and no `pollSeconds` was given. */
export const FALLBACK_POLL_SECONDS = 5;

/** Options of `RepositoryWatcher.start`. */
export interface WatchOptions {
  /** The repository folder. */
  root: string;
  /** Looks at the repository again (and swaps what changed). Errors are logged, not thrown. */
  rescan: (reason: RescanReason) => Promise<void> | void;
  /** Quiet time after the last file event before rescanning, ms (default 500). */
  debounceMs?: number;
  /** Rescan every this many seconds; 0 = only when watching fails (default: `--poll-seconds`'s). */
  pollSeconds?: number;
  /** Watch the folder with `Deno.watchFs` (default true). */
  watch?: boolean;
  /** Rescan on `SIGHUP` (default true). */
  sighup?: boolean;
  log?: Logger;
  /** What the folder holds, for log lines (default "model repository"). */
  what?: string;
}

/** Turns repository changes and signals into serialized `rescan` calls. */
export class RepositoryWatcher {
  #options: WatchOptions;
  #watcher: Deno.FsWatcher | null = null;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #firstEvent = 0;
  #poll: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #tail: Promise<void> = Promise.resolve();
  #next: Promise<void> | null = null;
  #onHup = () => void this.trigger("sighup");

  private constructor(options: WatchOptions) {
    this.#options = options;
  }

  /** Starts watching, polling and listening for SIGHUP as the options say. */
  static start(options: WatchOptions): RepositoryWatcher {
    const watcher = new RepositoryWatcher(options);
    let pollSeconds = options.pollSeconds ?? tableDefault("poll-seconds");
    if (options.watch ?? true) {
      try {
        watcher.#watcher = Deno.watchFs(options.root, { recursive: true });
        watcher.#consume(watcher.#watcher);
      } catch (e) {
        pollSeconds ||= FALLBACK_POLL_SECONDS;
        options.log?.warn(
          `cannot watch the ${options.what ?? "model repository"}; polling it instead`,
          {
            root: options.root,
            poll_seconds: pollSeconds,
            reason: (e as Error).message,
          },
        );
      }
    }
    if (pollSeconds > 0) {
      watcher.#poll = setInterval(() => void watcher.trigger("poll"), pollSeconds * 1000);
    }
    if (options.sighup ?? true) Deno.addSignalListener("SIGHUP", watcher.#onHup);
    return watcher;
  }

  /** Whether file events are being watched (false when watching failed or was off). */
  get watching(): boolean {
    return this.#watcher !== null;
  }

  /** Whether the repository is polled on a timer. */
  get polling(): boolean {
    return this.#poll !== undefined;
  }

  /**
   * Asks for a rescan. Resolves when a rescan that started after this call has
   * finished; calls made while one is waiting share it.
   */
  trigger(reason: RescanReason): Promise<void> {
    if (this.#next) return this.#next;
    const next: Promise<void> = this.#tail.then(async () => {
      if (this.#next === next) this.#next = null;
      if (this.#closed) return;
      try {
        await this.#options.rescan(reason);
      } catch (e) {
        this.#options.log?.error(`${this.#options.what ?? "model repository"} rescan failed`, {
          reason,
          error: (e as Error).message,
        });
      }
    });
    this.#next = next;
    this.#tail = next;
    return next;
  }

  /** Stops watching, polling and listening; a rescan already running finishes. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#debounce);
    clearInterval(this.#poll);
    this.#poll = undefined;
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#options.sighup ?? true) Deno.removeSignalListener("SIGHUP", this.#onHup);
  }

  async #consume(watcher: Deno.FsWatcher): Promise<void> {
    let reason = "the event stream ended";
    try {
      const root = this.#options.root.startsWith("/")
        ? this.#options.root
        : `${Deno.cwd()}/${this.#options.root}`;
      for await (const event of watcher) {
        // The folder itself removed: its watch sees nothing of a new one made in its place.
        if (event.kind === "remove" && event.paths.includes(root.replace(/\/+$/, ""))) {
          reason = "the repository folder was removed";
          watcher.close();
          break;
        }
        this.#changed();
      }
    } catch (e) {
      reason = (e as Error).message;
    }
    if (this.#closed) return;
    // Watching broke (e.g. the folder was removed and made again): polling takes over.
    this.#watcher = null;
    this.#options.log?.warn(
      `watching the ${this.#options.what ?? "model repository"} stopped; polling it instead`,
      {
        root: this.#options.root,
        poll_seconds: FALLBACK_POLL_SECONDS,
        reason,
      },
    );
    this.#poll ??= setInterval(() => void this.trigger("poll"), FALLBACK_POLL_SECONDS * 1000);
  }

  /**
   * Debounced: a copy is many events; rescan once it has been quiet for
   * `debounceMs`, but no later than 10 × that after the first event, so a
   * folder that never stops changing is still looked at.
   */
  #changed(): void {
    const quiet = this.#options.debounceMs ?? 500;
    const now = Date.now();
    if (this.#debounce === undefined) this.#firstEvent = now;
    clearTimeout(this.#debounce);
    const wait = Math.max(0, Math.min(quiet, this.#firstEvent + 10 * quiet - now));
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      void this.trigger("watch");
    }, wait);
  }
}
