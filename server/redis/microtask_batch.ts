/**
 * Calls made within one microtask checkpoint, answered by one call for all of them.
 *
 * ioredis resolves every reply of one socket read in one go, so the requests a connect wave wakes
 * up reach their next Redis command together (10–190 at a time at 3,000 connects per second):
 * gathered, they cost one script call instead of one each (each call is a command object, a
 * timer, a write and a reply in ioredis, and a script run in Redis). Nothing waits for a timer:
 * the batch goes out as soon as the microtasks queued before it have run.
 *
 * @module
 */

interface Pending<In, Out> {
  input: In;
  done: PromiseWithResolvers<Out>;
}

/**
 * @example
 * ```ts
 * const lengths = new MicrotaskBatch((words: string[]) => Promise.resolve(words.map((w) => w.length)), 100);
 * const [a, b] = await Promise.all([lengths.add("one"), lengths.add("three")]); // one run: 3, 5
 * ```
 */
export class MicrotaskBatch<In, Out> {
  #run: (inputs: In[]) => Promise<Out[]>;
  #maxBatch: number;
  #pending: Pending<In, Out>[] = [];

  /**
   * @param run answers a batch, one output per input in order; a rejection rejects every call of
   *   the batch.
   * @param maxBatch most inputs per run (a longer queue is split).
   */
  constructor(run: (inputs: In[]) => Promise<Out[]>, maxBatch: number) {
    this.#run = run;
    this.#maxBatch = maxBatch;
  }

  /** Queues `input`; resolves with its output once its batch ran. */
  add(input: In): Promise<Out> {
    const done = Promise.withResolvers<Out>();
    if (this.#pending.length === 0) queueMicrotask(() => this.#flush());
    this.#pending.push({ input, done });
    return done.promise;
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (let start = 0; start < pending.length; start += this.#maxBatch) {
      const part = pending.slice(start, start + this.#maxBatch);
      let outputs: Promise<Out[]>;
      try {
        outputs = this.#run(part.map((p) => p.input));
      } catch (error) {
        outputs = Promise.reject(error);
      }
      outputs.then((values) => {
        if (values.length !== part.length) {
          throw new Error(`Batch answered ${values.length} of ${part.length} calls`);
        }
        part.forEach((p, i) => p.done.resolve(values[i]));
      }).catch((error) => {
        for (const p of part) p.done.reject(error);
      });
    }
  }
}
