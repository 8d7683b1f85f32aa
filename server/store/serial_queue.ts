/**
 * Runs async tasks one at a time, in arrival order, whatever each one's outcome.
 *
 * @module
 */

/**
 * @example
 * ```ts
 * const queue = new SerialQueue();
 * await queue.run(async () => await readDiffWrite());
 * ```
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it has settled. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task);
    this.#tail = result.catch(() => {});
    return result;
  }
}
