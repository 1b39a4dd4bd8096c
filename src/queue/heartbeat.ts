import { type Executor, run } from '../db/executor.ts';
import type { Lease } from './ownership.ts';

/**
 * Renew the leases of every task a worker holds, in one statement, each by `leaseSeconds` (which
 * becomes the task's lease length) or, when that is null, by the length last given, at the claim
 * or by an earlier heartbeat (30 s for a task claimed before lease_seconds existed). A task
 * missing from the answer is no longer ours (rescued, re-claimed, finished): its handler must be aborted and its outcome
 * discarded. A task returned with cancel_requested must be aborted too; it ends `cancelled`.
 */
const HEARTBEAT_SQL = `
update tasks t set
  lease_expires_at = now() + make_interval(secs => coalesce($2::int, t.lease_seconds, 30)),
  lease_seconds = coalesce($2::int, t.lease_seconds),
  updated_at = now()
from unnest($3::uuid[], $4::bigint[]) as h(uid, token)
where t.uid = any($3::uuid[]) and t.uid = h.uid and t.fencing_token = h.token and t.worker_id = $1 and t.status = 'processing'
returning t.uid, t.cancel_requested, t.lease_expires_at, false as busy
`;

/**
 * The same for a worker whose other statements may hold some of these rows at this instant (its
 * completion batches, two in flight, lock the tasks they finish or start). A heartbeat locking
 * hundreds of rows in its own order while a batch locks some of them in another deadlocked
 * (measured in the soak bench: PostgreSQL broke the cycle after deadlock_timeout, a second's
 * stall). So rows locked elsewhere are skipped, never waited for, and reported `busy`: still ours
 * in this statement's snapshot, renewed at the next beat, which comes soon (see Heartbeats).
 */
const HEARTBEAT_SKIP_LOCKED_SQL = `
with held as (
  select t.id, t.uid, t.fencing_token from tasks t join unnest($3::uuid[], $4::bigint[]) as h(uid, token) on t.uid = h.uid
  where t.uid = any($3::uuid[]) and t.fencing_token = h.token and t.worker_id = $1 and t.status = 'processing'
), locked as (
  -- The ownership test again, under the lock: a row changed since the snapshot is re-read here.
  select t.id from tasks t join held on t.id = held.id
  where t.fencing_token = held.fencing_token and t.worker_id = $1 and t.status = 'processing'
  for update of t skip locked
), renewed as (
  update tasks t set
    lease_expires_at = now() + make_interval(secs => coalesce($2::int, t.lease_seconds, 30)),
    lease_seconds = coalesce($2::int, t.lease_seconds),
    updated_at = now()
  from locked, held
  where t.id = locked.id and held.id = locked.id
    and t.fencing_token = held.fencing_token and t.worker_id = $1 and t.status = 'processing'
  returning t.uid, t.cancel_requested, t.lease_expires_at
)
select uid, cancel_requested, lease_expires_at, false as busy from renewed
union all
select uid, false, null, true from held where uid not in (select uid from renewed)
`;

export interface HeartbeatResult {
  renewed: Set<string>;
  lost: Set<string>;
  /** Still ours, but locked by another statement of the worker just then: not renewed this time. */
  busy: Set<string>;
  cancelRequested: Set<string>;
  /** The new lease expiry of each renewed task. */
  expiresAt: Map<string, Date>;
}

export async function heartbeat(
  ex: Executor,
  workerId: string,
  leaseSeconds: number | null,
  leases: readonly Pick<Lease, 'uid' | 'fencingToken'>[],
  opts: { skipLocked?: boolean } = {},
): Promise<HeartbeatResult> {
  const result: HeartbeatResult = {
    renewed: new Set(),
    lost: new Set(),
    busy: new Set(),
    cancelRequested: new Set(),
    expiresAt: new Map(),
  };
  if (leases.length === 0) return result;
  const rows = await run<{ uid: string; cancel_requested: boolean; lease_expires_at: Date | null; busy: boolean }>(
    ex,
    opts.skipLocked ? HEARTBEAT_SKIP_LOCKED_SQL : HEARTBEAT_SQL,
    [workerId, leaseSeconds, leases.map((l) => l.uid), leases.map((l) => l.fencingToken)],
    opts.skipLocked ? 'eventix_heartbeat_skip_locked' : 'eventix_heartbeat',
  );
  for (const r of rows) {
    if (r.busy) {
      result.busy.add(r.uid);
      continue;
    }
    result.renewed.add(r.uid);
    if (r.lease_expires_at) result.expiresAt.set(r.uid, r.lease_expires_at);
    if (r.cancel_requested) result.cancelRequested.add(r.uid);
  }
  for (const l of leases) if (!result.renewed.has(l.uid) && !result.busy.has(l.uid)) result.lost.add(l.uid);
  return result;
}
