import { type Executor, run } from '../db/executor.ts';
import { InvalidTransition, TaskNotFound, UniqueKeyConflict, ValidationError } from '../errors.ts';
import { instant } from '../validation/zod.ts';
import { assertUid } from './ownership.ts';
import { NOTIFY_CHANNEL } from './submit.ts';
import { type Task, type TaskRowRaw, toTask } from './task.ts';

/**
 * Put a finished-badly task back in line: only from `error`, `retry` or `cancelled`. The retry
 * budget starts afresh (attempts = 0): an operator rescheduling a task wants it to really run.
 */
const RESCHEDULE_SQL = `
with moved as (
  update tasks set
    status = 'scheduled',
    eta = coalesce($2::timestamptz, now()),
    attempts = 0,
    cancel_requested = false,
    lease_expires_at = null,
    finished_at = null,
    expires_at = null,
    updated_at = now(),
    revision = revision + 1
  where uid = $1 and status in ('error', 'retry', 'cancelled')
  returning *
), notified as (
  select pg_notify('${NOTIFY_CHANNEL}', namespace) from moved where eta <= now()
)
select moved.* from moved, (select count(*) from notified) as z
`;

export const RESCHEDULABLE = ['error', 'retry', 'cancelled'] as const;

export async function reschedule(ex: Executor, uid: string, opts: { eta?: Date | string | undefined } = {}): Promise<Task> {
  assertUid(uid);
  let eta: string | null = null;
  if (opts.eta !== undefined) {
    const parsed = instant.safeParse(opts.eta);
    if (!parsed.success) throw new ValidationError([{ field: 'eta', message: parsed.error.issues[0]?.message ?? 'invalid date' }]);
    eta = new Date(parsed.data).toISOString();
  }
  let rows: TaskRowRaw[];
  try {
    rows = await run<TaskRowRaw>(ex, RESCHEDULE_SQL, [uid, eta]);
  } catch (err) {
    // A drizzle executor wraps the driver's error (DrizzleQueryError) and keeps it as `cause`.
    const pgErr = err as { constraint?: string; cause?: { constraint?: string } };
    if ((pgErr.constraint ?? pgErr.cause?.constraint) === 'tasks_unique_key_waiting_idx') {
      const [t] = await run<{ namespace: string; unique_key: string }>(ex, 'select namespace, unique_key from tasks where uid = $1', [uid]);
      throw new UniqueKeyConflict(t?.namespace ?? '?', t?.unique_key ?? '?');
    }
    throw err;
  }
  const [row] = rows;
  if (row) return toTask(row);
  const [current] = await run<{ status: string }>(ex, 'select status from tasks where uid = $1', [uid]);
  if (!current) throw new TaskNotFound(uid);
  throw new InvalidTransition(uid, current.status, 'reschedule', RESCHEDULABLE);
}
