import { type Executor, run } from '../db/executor.ts';
import type { Lease } from './ownership.ts';
import type { TaskStatus } from './states.ts';
import { NOTIFY_CHANNEL } from './submit.ts';

/**
 * Graceful shutdown: hand tasks we could not finish in the grace period back to the queue, due
 * now, without counting the interrupted attempt (the task did nothing wrong). A cancel requested
 * meanwhile wins. Another worker is woken through NOTIFY. Also how a worker hands back tasks from
 * its local buffer that never started (started_at null): their attempt was never counted, so
 * there is nothing to give back. Answers each released task's new status; a task not ours is absent.
 */
const RELEASE_SQL = `
with released as (
  update tasks t set
    status = case
      when t.cancel_requested then 'cancelled'
      when t.attempts - (t.started_at is not null)::int > 0 then 'retry'
      else 'scheduled' end,
    attempts = greatest(t.attempts - (t.started_at is not null)::int, 0),
    eta = now(),
    lease_expires_at = null,
    finished_at = case when t.cancel_requested then now() else null end,
    expires_at = case
      when t.cancel_requested and t.error_expires is not null then now() + make_interval(secs => t.error_expires)
      else t.expires_at end,
    updated_at = now(),
    revision = t.revision + 1
  from unnest($2::uuid[], $3::bigint[]) as h(uid, token)
  where t.uid = any($2::uuid[]) and t.uid = h.uid and t.fencing_token = h.token and t.worker_id = $1 and t.status = 'processing'
  returning t.uid, t.namespace, t.status
), notified as (
  select pg_notify('${NOTIFY_CHANNEL}', n.namespace) from (select distinct namespace from released) n
)
select uid, status, namespace from released, (select count(*) from notified) as z
`;

export async function release(
  ex: Executor,
  workerId: string,
  leases: readonly Pick<Lease, 'uid' | 'fencingToken'>[],
): Promise<Map<string, { status: TaskStatus; namespace: string }>> {
  if (leases.length === 0) return new Map();
  const rows = await run<{ uid: string; status: TaskStatus; namespace: string }>(
    ex,
    RELEASE_SQL,
    [workerId, leases.map((l) => l.uid), leases.map((l) => l.fencingToken)],
    'eventix_release',
  );
  return new Map(rows.map((r) => [r.uid, { status: r.status, namespace: r.namespace }]));
}
