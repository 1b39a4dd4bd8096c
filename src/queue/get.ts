import { type Executor, run } from '../db/executor.ts';
import { TaskNotFound } from '../errors.ts';
import { assertUid } from './ownership.ts';
import { type Task, type TaskRowRaw, toTask } from './task.ts';

export async function getTask(ex: Executor, uid: string): Promise<Task> {
  assertUid(uid);
  const [row] = await run<TaskRowRaw>(ex, 'select * from tasks where uid = $1', [uid]);
  if (!row) throw new TaskNotFound(uid);
  return toTask(row);
}

/**
 * The task holding a unique_key: the live one (waiting or running) if any, else the most recent.
 * Several rows may share a key over time, since a running task does not block a new submission.
 */
export async function getTaskByUniqueKey(ex: Executor, namespace: string, uniqueKey: string): Promise<Task | undefined> {
  // PostgreSQL text cannot hold NUL (the query would fail), so no task has such a key.
  if (namespace.includes('\u0000') || uniqueKey.includes('\u0000')) return undefined;
  const [row] = await run<TaskRowRaw>(
    ex,
    `select * from tasks where namespace = $1 and unique_key = $2
     order by (status in ('scheduled', 'retry', 'processing')) desc, created_at desc, id desc
     limit 1`,
    [namespace, uniqueKey],
  );
  return row ? toTask(row) : undefined;
}
