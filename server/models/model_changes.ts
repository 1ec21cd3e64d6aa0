/**
 * One change of a model at a time, whoever asks for it: a load or unload over
 * the repository routes, a shadow's or canary's start, a promote, a rollback.
 * Two that raced undid each other's marks in the repository (a load racing an
 * unload answered "could not be loaded"); the second is refused instead, 503
 * `SERVER_BUSY`, to be sent again.
 *
 * @example
 * ```ts
 * import { ModelChanges } from "./model_changes.ts";
 *
 * const changes = new ModelChanges();
 * const first = changes.start("mnist", () => new Promise((r) => setTimeout(r, 10)));
 * console.log(String(changes.start("mnist", async () => {}))); // SERVER_BUSY: a change of model "mnist" is under way
 * await first;
 * ```
 * @module
 */
import { shown, Status, WireError } from "../../shared/errors.ts";

/** The models with a change under way. */
export class ModelChanges {
  #changing = new Set<string>();

  /** Runs `change` of model `name`, or answers `SERVER_BUSY` while another change of it runs. */
  start<T>(name: string, change: () => Promise<T>): Promise<T> | WireError {
    if (this.#changing.has(name)) {
      return new WireError(Status.SERVER_BUSY, `a change of model ${shown(name)} is under way`);
    }
    this.#changing.add(name);
    const run = async () => {
      try {
        return await change();
      } finally {
        this.#changing.delete(name);
      }
    };
    return run();
  }
}
