import { type Executor, run } from '../db/executor.ts';
import type { Lease } from './ownership.ts';

/**
 * Renew the leases of every task a worker runs, in one statement. A task missing from the answer
 * is no longer ours (rescued, re-claimed, finished): its handler must be aborted and its outcome
 * discarded. A task returned with cancel_requested must be aborted too; it ends `cancelled`.
 */
const HEARTBEAT_SQL = `
update tasks t set
  lease_expires_at = now() + make_interval(secs => $2),
  updated_at = now()
from unnest($3::uuid[], $4::bigint[]) as h(uid, token)
where t.uid = any($3::uuid[]) and t.uid = h.uid and t.fencing_token = h.token and t.worker_id = $1 and t.status = 'processing'
returning t.uid, t.cancel_requested, t.lease_expires_at
`;

export interface HeartbeatResult {
  renewed: Set<string>;
  lost: Set<string>;
  cancelRequested: Set<string>;
  /** The new lease expiry of each renewed task. */
  expiresAt: Map<string, Date>;
}

export async function heartbeat(
  ex: Executor,
  workerId: string,
  leaseSeconds: number,
  leases: readonly Pick<Lease, 'uid' | 'fencingToken'>[],
): Promise<HeartbeatResult> {
  const result: HeartbeatResult = { renewed: new Set(), lost: new Set(), cancelRequested: new Set(), expiresAt: new Map() };
  if (leases.length === 0) return result;
  const rows = await run<{ uid: string; cancel_requested: boolean; lease_expires_at: Date }>(
    ex,
    HEARTBEAT_SQL,
    [workerId, leaseSeconds, leases.map((l) => l.uid), leases.map((l) => l.fencingToken)],
    'eventix_heartbeat',
  );
  for (const r of rows) {
    result.renewed.add(r.uid);
    result.expiresAt.set(r.uid, r.lease_expires_at);
    if (r.cancel_requested) result.cancelRequested.add(r.uid);
  }
  for (const l of leases) if (!result.renewed.has(l.uid)) result.lost.add(l.uid);
  return result;
}
