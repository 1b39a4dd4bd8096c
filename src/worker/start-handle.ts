import type { StartRecord } from '../queue/complete-and-claim.ts';

/**
 * A start record of a task from the local buffer (see Completer.recordStart), and whether it has
 * been written. Only a failing attempt waits for it (its failure must find the attempt counted),
 * so the promise is made for that caller alone: a promise, its two resolvers and a catch per
 * buffered task were garbage at thousands of tasks a second.
 */
export class StartHandle implements StartRecord {
  #state: 'pending' | 'written' | 'failed' = 'pending';
  #error: unknown;
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] | undefined;

  constructor(
    readonly uid: string,
    readonly fencingToken: number,
    readonly startedAt: Date,
  ) {}

  /** Written, or taken over by the task's completion (which counts the attempt itself). */
  resolve(): void {
    if (this.#state !== 'pending') return;
    this.#state = 'written';
    for (const w of this.#waiters ?? []) w.resolve();
    this.#waiters = undefined;
  }

  reject(err: unknown): void {
    if (this.#state !== 'pending') return;
    this.#state = 'failed';
    this.#error = err;
    for (const w of this.#waiters ?? []) w.reject(err);
    this.#waiters = undefined;
  }

  /** Resolves once the start is written; rejects with the error if its flush failed. */
  written(): Promise<void> {
    if (this.#state === 'written') return Promise.resolve();
    if (this.#state === 'failed') return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#waiters ??= [];
      this.#waiters.push({ resolve, reject });
    });
  }
}
