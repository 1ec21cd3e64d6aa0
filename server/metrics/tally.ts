/**
 * Counting without prom-client on the request path: a `Tally` keeps a count
 * as a plain number and hands it to its counter when the metrics are read.
 *
 * @example
 * ```ts
 * import { Tally } from "./tally.ts";
 * import { Counter, Registry } from "prom-client";
 *
 * const registry = new Registry();
 * const served = new Tally(new Counter({ name: "served_total", help: "Served", registers: [registry] }));
 * served.inc();
 * served.inc(2);
 * served.flush(); // before the registry is read
 * console.log(await registry.metrics()); // ... served_total 3
 * ```
 * @module
 */

/**
 * A count kept as a plain number and added to its prom-client counter when
 * the metrics are read: every request adds to several counters, and
 * prom-client's `inc` costs far more than an addition.
 */
export class Tally {
  #child: { inc(n?: number): void };
  #pending = 0;

  constructor(child: { inc(n?: number): void }) {
    this.#child = child;
  }

  inc(n = 1): void {
    this.#pending += n;
  }

  flush(): void {
    if (this.#pending === 0) return;
    this.#child.inc(this.#pending);
    this.#pending = 0;
  }
}
