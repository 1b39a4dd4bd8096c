import { type Executor, run } from '../db/executor.ts';
import { InvalidTransition, TaskNotFound } from '../errors.ts';
import { assertUid } from './ownership.ts';
import { type Task, type TaskRowRaw, toTask } from './task.ts';

/**
 * A waiting task becomes `cancelled` at once. A running one is only flagged: its worker learns at
 * the next heartbeat, aborts the handler's signal, and the attempt ends `cancelled` (or `done`,
 * if the handler finished first). SET expressions read the row as it was, so one statement covers
 * both cases.
 */
const CANCEL_SQL = `
update tasks set
  status = case when status = 'processing' then status else 'cancelled' end,
  cancel_requested = (status = 'processing'),
  finished_at = case when status = 'processing' then finished_at else now() end,
  expires_at = case
    when status = 'processing' then expires_at
    when error_expires is null then null
    else now() + make_interval(secs => error_expires) end,
  updated_at = now(),
  revision = revision + 1
where uid = $1 and status in ('scheduled', 'retry', 'processing')
returning *
`;

export const CANCELLABLE = ['scheduled', 'retry', 'processing'] as const;

export async function cancel(ex: Executor, uid: string): Promise<Task> {
  assertUid(uid);
  const [row] = await run<TaskRowRaw>(ex, CANCEL_SQL, [uid]);
  if (row) return toTask(row);
  const [current] = await run<{ status: string }>(ex, 'select status from tasks where uid = $1', [uid]);
  if (!current) throw new TaskNotFound(uid);
  throw new InvalidTransition(uid, current.status, 'cancel', CANCELLABLE);
}
