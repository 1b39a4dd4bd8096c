import type { Logger } from '../logger.ts';
import type { AttemptAbort } from './attempt-abort.ts';
import type { AttemptTask } from './core.ts';
import type { TaskContext } from './registry.ts';

/**
 * The `ctx` a handler receives. A class rather than an object literal with getters: the literal
 * made two closures and two accessor pairs per attempt, at thousands of attempts a second. The
 * signal and the child logger are still made only when a handler asks for them.
 */
export class AttemptContext implements TaskContext {
  readonly uid: string;
  readonly task: string;
  readonly namespace: string;
  readonly attempt: number;
  readonly fencingToken: number;
  readonly #controller: AttemptAbort;
  readonly #parentLogger: Logger;
  #logger: Logger | undefined;

  constructor(task: AttemptTask, fencingToken: number, controller: AttemptAbort, logger: Logger) {
    this.uid = task.uid;
    this.task = task.task;
    this.namespace = task.namespace;
    this.attempt = task.attempts;
    this.fencingToken = fencingToken;
    this.#controller = controller;
    this.#parentLogger = logger;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** A child logger with the task's uid and name, made on first use. */
  get logger(): Logger {
    this.#logger ??= this.#parentLogger.child({ taskUid: this.uid, task: this.task });
    return this.#logger;
  }
}
