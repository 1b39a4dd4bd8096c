import { isConnectionError, reconnectDelay } from '../db/connection-errors.ts';
import type { ClaimedTask } from '../queue/task.ts';
import type { AttemptAbort } from './attempt-abort.ts';
import type { Completer } from './completer.ts';

/**
 * Record a result, retrying while the database is unreachable: the work is done, and dropping
 * its result would have the task run again once its lease expires. Bounded by the lease (past
 * it the task may be rescued and run elsewhere, and the fencing token refuses a late write
 * anyway) and by the attempt's signal (lease lost, shutdown).
 *
 * `firstTry`: the first completion, already sent by the caller (the worker's hot path sends it
 * directly, and comes here only once it fails).
 */
export async function completeRetrying(
  completer: Completer,
  task: ClaimedTask,
  result: unknown,
  opts: {
    leaseSeconds: number;
    abort: AttemptAbort;
    reportError: (err: unknown, during: string) => void;
    /** The task came from the local buffer and started then (see Completer.complete). */
    startedAt?: Date | undefined;
    firstTry?: { sent: Promise<void>; at: number };
  },
): Promise<undefined> {
  const giveUpAt = (opts.firstTry?.at ?? Date.now()) + opts.leaseSeconds * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      await (attempt === 1 && opts.firstTry
        ? opts.firstTry.sent
        : completer.complete(task.uid, task.fencingToken, result, opts.startedAt, task.storeResult));
      return;
    } catch (err) {
      if (!isConnectionError(err) || opts.abort.aborted || Date.now() >= giveUpAt) throw err;
      opts.reportError(err, 'complete (will retry)');
      await abortableDelay(Math.min(reconnectDelay(attempt), giveUpAt - Date.now()), opts.abort.signal);
    }
  }
}

/**
 * Send a result to the completer, and only if that fails go on as completeRetrying: the retrying
 * path (an async function, its options, its loop) is not paid per task on the hot path.
 */
export function recordResult(
  completer: Completer,
  task: ClaimedTask,
  result: unknown,
  opts: Omit<Parameters<typeof completeRetrying>[3], 'firstTry'>,
): Promise<undefined> {
  const at = Date.now();
  const sent = completer.complete(task.uid, task.fencingToken, result, opts.startedAt, task.storeResult);
  return sent.then(resolvedUndefined, () => completeRetrying(completer, task, result, { ...opts, firstTry: { sent, at } }));
}

function resolvedUndefined(): undefined {
  return undefined;
}

/** Wait `ms`, or less if `signal` aborts first; never rejects. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done, { once: true });
  });
}
