import { type Executor, run } from '../db/executor.ts';
import { InvalidTransition, TaskNotFound } from '../errors.ts';
import { assertUid } from './ownership.ts';

/**
 * Delete a task that is not running. A running task belongs to its worker until it finishes or
 * its lease ends; deleting it under the worker would lose the outcome silently, so cancel it first.
 */
export async function removeTask(ex: Executor, uid: string): Promise<void> {
  assertUid(uid);
  const rows = await run<{ uid: string }>(ex, "delete from tasks where uid = $1 and status <> 'processing' returning uid", [uid]);
  if (rows.length) return;
  const [current] = await run<{ status: string }>(ex, 'select status from tasks where uid = $1', [uid]);
  if (!current) throw new TaskNotFound(uid);
  throw new InvalidTransition(uid, current.status, 'delete', ['scheduled', 'retry', 'done', 'error', 'cancelled']);
}
