import { type Executor, run } from '../../db/executor.ts';
import { completeCtes } from '../../queue/complete.ts';
import { failedAttemptSet, RETRIES_REMAIN } from '../../queue/failure-sql.ts';
import type { TaskStatus } from '../../queue/states.ts';
import type { TaskError } from '../../queue/task.ts';
import { jsonValue } from '../../validation/json.ts';

/**
 * A Python worker's write-back (PUT /task/{uid} with status done, error or retry), guarded like
 * every worker change: each statement changes the task only if, in that same statement, it is
 * `processing`, held by the writing worker_id, and still at the revision the claim answered. Our
 * claim bumps `revision` and hands it out with the task; the Python worker sends the model back
 * with it unchanged. A stale write (an older revision: the task was rescued, re-claimed, released
 * or already written back; another worker's id) matches no row and changes nothing.
 *
 * The statements are the queue's own, reused: the completion is completeCtes (src/queue/complete.ts)
 * fed from a select of the claimed row by revision, so that it finishes the task by its fencing
 * token exactly as the worker's complete does; the failure is failedAttemptSet, the SET list that
 * fail and rescue share (src/queue/failure-sql.ts), with the revision in place of the token.
 */

/** The claimed row, found by revision: what completeCtes finishes, by its fencing token. */
const HELD = `(select coalesce(jsonb_agg(jsonb_build_object('uid', h.uid, 'token', h.fencing_token, 'result', $3::jsonb, 'started_at', null)), '[]'::jsonb)
    from tasks h where h.uid = $2::uuid and h.status = 'processing' and h.worker_id = $1 and h.revision = $4)`;

const COMPLETE_SQL = `
with ${completeCtes({ workerId: '$1', payload: HELD, deleteUids: 'array[$2::uuid]', updateUids: 'array[$2::uuid]' })}
select uid, namespace from deleted union all select uid, namespace from updated
`;

/**
 * `$2` null: the write-back names no worker. Python's own worker clears worker_id before it
 * writes a retry back (task_set_error), so for a retry only the revision can say whose it is; the
 * revision is the claim's, bumped by every later claim, rescue and release, so a stale one still
 * matches nothing. Done and error write-backs must name their worker (checked by the route).
 */
const FAIL_SQL = `
update tasks t set${failedAttemptSet(`$4::boolean and ${RETRIES_REMAIN}`, '$5::jsonb')}
where t.uid = $1 and t.status = 'processing' and t.worker_id = coalesce($2::text, t.worker_id) and t.revision = $3
returning t.status, t.eta, t.namespace
`;

export interface WriteBack {
  uid: string;
  /** null only for a retry: see FAIL_SQL. */
  workerId: string | null;
  revision: number;
}

/** Complete the claimed task: its result stored (or the row deleted, store_result off). Answers its namespace, or undefined if the write was stale. */
export async function completeByRevision(ex: Executor, w: WriteBack & { workerId: string; result: unknown }): Promise<string | undefined> {
  const [row] = await run<{ uid: string; namespace: string }>(
    ex,
    COMPLETE_SQL,
    [w.workerId, w.uid, JSON.stringify(w.result ?? null), w.revision],
    'eventix_compat_complete',
  );
  return row?.namespace;
}

/**
 * End the claimed attempt in failure. `retryable` false (the Python worker said `error`) fails at
 * once; true (it said `retry`) lets the task's retry policy decide, as for any failure: Python
 * decided itself from the max_retries it counted down, which we do not store.
 */
export async function failByRevision(
  ex: Executor,
  w: WriteBack & { error: TaskError; retryable: boolean },
): Promise<{ status: TaskStatus; eta: Date; namespace: string } | undefined> {
  const error = jsonValue.safeParse(w.error).success ? w.error : { class: w.error.class, message: String(w.error.message) };
  const [row] = await run<{ status: TaskStatus; eta: Date; namespace: string }>(
    ex,
    FAIL_SQL,
    [w.uid, w.workerId, w.revision, w.retryable, JSON.stringify(error)],
    'eventix_compat_fail',
  );
  return row;
}

/** Why a guarded write-back matched no row. Read only on that path; the statement decided. */
export async function explainStale(ex: Executor, w: WriteBack): Promise<{ revision: number | null; reason: string }> {
  const [row] = await run<{ status: string; worker_id: string | null; revision: number }>(
    ex,
    'select status, worker_id, revision from tasks where uid = $1',
    [w.uid],
  );
  if (!row) return { revision: null, reason: 'the task no longer exists' };
  if (row.status !== 'processing') return { revision: row.revision, reason: `the task is '${row.status}', not processing` };
  if (w.workerId !== null && row.worker_id !== w.workerId) return { revision: row.revision, reason: 'the task is held by another worker' };
  return { revision: row.revision, reason: `revision ${w.revision} was superseded by ${row.revision}` };
}
