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
 */
const RESCUE_SQL = `
with expired as (
  select id from tasks
  where status = 'processing' and lease_expires_at < now()
  order by lease_expires_at
  limit $1
  for update skip locked
)
update tasks t set${failedAttemptSet(RETRIES_REMAIN)},
  error = jsonb_build_object(
    'class', 'LeaseExpired',
    'message', 'the lease of worker ' || t.worker_id || ' expired before the task finished',
    'reason', 'lease_expired',
    'payload', jsonb_build_object('worker_id', t.worker_id, 'lease_expires_at', t.lease_expires_at))
from expired
where t.id = expired.id
returning t.uid, t.status
`;

export async function rescueExpired(ex: Executor, limit = 1000): Promise<{ uid: string; status: TaskStatus }[]> {
  return run<{ uid: string; status: TaskStatus }>(ex, RESCUE_SQL, [limit], 'eventix_rescue');
}
