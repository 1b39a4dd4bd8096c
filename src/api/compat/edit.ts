import { type Executor, run } from '../../db/executor.ts';
import { NOTIFY_CHANNEL } from '../../queue/submit.ts';
import { type Task, type TaskRowRaw, toTask } from '../../queue/task.ts';

/**
 * An operator's PUT of a waiting task (Python put_instance): the submitted fields replaced, under
 * the optimistic lock Python had, the revision. One statement: it changes the row only if it is
 * still waiting and still at the revision the caller read; otherwise nothing (the route answers
 * RevisionConflict). The status stays: an edit never moves a task between scheduled and retry
 * (reschedule does). A task due now after the edit wakes a worker.
 */
const EDIT_SQL = `
with edited as (
  update tasks set
    task = $3,
    namespace = $4,
    eta = $5::timestamptz,
    priority = $6,
    args = $7::jsonb,
    kwargs = $8::jsonb,
    unique_key = $9,
    retry = $10,
    max_retries = $11,
    error_eta_inc = $12,
    error_eta_max = $13,
    store_result = $14,
    result_expires = $15,
    error_expires = $16,
    updated_at = now(),
    revision = revision + 1
  where uid = $1 and revision = $2 and status in ('scheduled', 'retry')
  returning *
), notified as (
  select pg_notify('${NOTIFY_CHANNEL}', namespace) from edited where eta <= now()
)
select edited.* from edited, (select count(*) from notified) as z
`;

/** The fields an edit sets: all of them, the caller having merged the body into the task it read. */
export type Edit = Pick<
  Task,
  | 'task'
  | 'namespace'
  | 'eta'
  | 'priority'
  | 'args'
  | 'kwargs'
  | 'uniqueKey'
  | 'retry'
  | 'maxRetries'
  | 'errorEtaInc'
  | 'errorEtaMax'
  | 'storeResult'
  | 'resultExpires'
  | 'errorExpires'
>;

/** Answers the edited task, or undefined when it was no longer waiting at that revision. */
export async function editWaiting(ex: Executor, uid: string, revision: number, e: Edit): Promise<Task | undefined> {
  const [row] = await run<TaskRowRaw>(ex, EDIT_SQL, [
    uid,
    revision,
    e.task,
    e.namespace,
    e.eta.toISOString(),
    e.priority,
    JSON.stringify(e.args),
    JSON.stringify(e.kwargs),
    e.uniqueKey,
    e.retry,
    e.maxRetries,
    e.errorEtaInc,
    e.errorEtaMax,
    e.storeResult,
    e.resultExpires,
    e.errorExpires,
  ]);
  return row ? toTask(row) : undefined;
}
