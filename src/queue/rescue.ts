import { type Executor, run } from '../db/executor.ts';
import { failedAttemptSet, RETRIES_REMAIN } from './failure-sql.ts';
import type { TaskStatus } from './states.ts';

/**
 * Tasks whose lease ran out: their worker crashed, hung or lost the network. Each goes back to
 * `retry` with the attempt counted (so a task that crashes its worker every time cannot loop
 * forever), or to `error` with reason `lease_expired` when no retries remain, or to `cancelled`
 * if that was requested. SKIP LOCKED and a batch limit let every worker process run this
 * concurrently without blocking each other; the partial index on lease_expires_at over
 * processing rows keeps an idle run to one index probe.
 *
 * A task that was still in the dead worker's local buffer (started_at null: claimed ahead, never
 * started, its attempt never counted) did nothing wrong: it goes back as it was, due at its old
 * eta, with no attempt counted, no backoff and no error. The one case this misjudges is a task
 * started from the buffer whose start had not yet reached the database (it is recorded with the
 * worker's next flush, within a round trip): if the worker died in that window, the attempt is
 * not counted.
 */
const RESCUE_SQL = `
with expired as (
  select id, started_at is null as unstarted from tasks
  where status = 'processing' and lease_expires_at < now()
  order by lease_expires_at
  limit $1
  for update skip locked
), failed as (
  update tasks t set${failedAttemptSet(
    RETRIES_REMAIN,
    `jsonb_build_object(
      'class', 'LeaseExpired',
      'message', 'the lease of worker ' || t.worker_id || ' expired before the task finished',
      'reason', 'lease_expired',
      'payload', jsonb_build_object('worker_id', t.worker_id, 'lease_expires_at', t.lease_expires_at))`,
  )}
  from expired
  where t.id = expired.id and not expired.unstarted
  returning t.uid, t.status
), returned as (
  update tasks t set
    status = case when t.cancel_requested then 'cancelled' when t.attempts > 0 then 'retry' else 'scheduled' end,
    lease_expires_at = null,
    finished_at = case when t.cancel_requested then now() end,
    expires_at = case when t.cancel_requested and t.error_expires is not null then now() + make_interval(secs => t.error_expires) end,
    updated_at = now(),
    revision = t.revision + 1
  from expired
  where t.id = expired.id and expired.unstarted
  returning t.uid, t.status
)
select uid, status from failed union all select uid, status from returned
`;

export async function rescueExpired(ex: Executor, limit = 1000): Promise<{ uid: string; status: TaskStatus }[]> {
  return run<{ uid: string; status: TaskStatus }>(ex, RESCUE_SQL, [limit], 'eventix_rescue');
}
