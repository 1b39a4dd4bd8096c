import { type Executor, run } from '../db/executor.ts';
import { type ClaimOptions, claimCtes, memoize, namespaceArray } from './claim.ts';
import { byUidSql, type Completion, completeCtes, completionPayload, completionTargets, unsizedUuids } from './complete.ts';
import type { Lease } from './ownership.ts';
import { type ClaimedTask, claimedFromJsonArray, claimedJsonArraySql } from './task.ts';

/** A task the worker started from its local buffer: its attempt is counted when this is recorded. */
export interface StartRecord extends Omit<Lease, 'workerId'> {
  startedAt: Date;
}

/**
 * Complete a batch, record the starts of buffered tasks, and claim the next tasks for the slots
 * and buffer places it frees, in ONE statement. A busy worker otherwise spends one commit finishing
 * tasks and another claiming their successors; the database (its commits, not our CPU) is what
 * bounds a worker running short tasks, so fewer statements raise throughput. Each part keeps its
 * own guard: completion and start records by worker and fencing token, the claim by SKIP LOCKED.
 * None can touch another's rows: completions and starts are disjoint `processing` rows (the
 * completer never sends both for one task), and the claim only reads `scheduled`/`retry` ones.
 *
 * The start records are looked up by key like the completions (see completeCtes): one jsonb object
 * from uid to record, never a set joined to the rows. The claimed rows travel as one JSON array
 * each (claimedJsonArraySql), because the parts return different shapes.
 */
const completeAndClaimSql = memoize(
  (namespaces: number) => `
with ${completeCtes({ workerId: '$1', payload: '$2', deleteUids: '$10', updateUids: '$6' })},
starts as (${byUidSql('$8')}), started as (
  update tasks t set attempts = t.attempts + 1, started_at = ((select o from starts) -> t.uid::text ->> 'started_at')::timestamptz, updated_at = now()
  where t.uid = any(${unsizedUuids('$9')})
    and t.status = 'processing' and t.worker_id = $1 and t.started_at is null
    and t.fencing_token = ((select o from starts) -> t.uid::text ->> 'token')::bigint
  returning t.uid
),
${claimCtes({ namespaces: namespaceArray(11, namespaces), tasks: '$3', limit: '$4', start: '$7', workerId: '$1', leaseSeconds: '$5' })}
select uid, null::json as claimed from deleted
union all select uid, null::json from updated
union all select null::uuid, null::json from started
union all select uid, ${claimedJsonArraySql('claimed')} from claimed
`,
);

export async function completeAndClaim(
  ex: Executor,
  workerId: string,
  items: readonly Omit<Completion, 'workerId'>[],
  next: Omit<ClaimOptions, 'workerId'>,
  opts: { resultsChecked?: boolean; starts?: readonly StartRecord[] } = {},
): Promise<{ completed: Set<string>; claimed: ClaimedTask[] }> {
  const payload = completionPayload(items, opts.resultsChecked);
  const starts = opts.starts ?? [];
  const namespaces = [...new Set(next.namespaces)];
  const { deleteUids, updateUids } = completionTargets(items);
  const rows = await run<{ uid: string | null; claimed: unknown[] | null }>(
    ex,
    completeAndClaimSql(namespaces.length),
    [
      workerId,
      JSON.stringify(payload),
      [...new Set(next.tasks)],
      Math.max(0, next.limit),
      next.leaseSeconds,
      updateUids,
      Math.max(0, next.start ?? next.limit),
      JSON.stringify(starts.map((s) => ({ uid: s.uid, token: s.fencingToken, started_at: s.startedAt.toISOString() }))),
      starts.map((s) => s.uid),
      deleteUids,
      ...namespaces,
    ],
    `eventix_complete_and_claim_n${namespaces.length}`,
  );
  const completed = new Set<string>();
  const claimed: ClaimedTask[] = [];
  for (const r of rows) {
    if (r.claimed) claimed.push(claimedFromJsonArray(r.claimed));
    else if (r.uid) completed.add(r.uid);
  }
  claimed.sort((a, b) => b.priority - a.priority || a.eta.getTime() - b.eta.getTime());
  return { completed, claimed };
}
