import { type Executor, run } from '../db/executor.ts';
import { type ClaimOptions, claimCtes, memoize, namespaceArray } from './claim.ts';
import { type Completion, completeCtes, completionPayload } from './complete.ts';
import { type ClaimedTask, rowFromJson, toClaimedTask } from './task.ts';

/**
 * Complete a batch and claim the next tasks for the slots it frees, in ONE statement. A busy
 * worker otherwise spends one commit finishing tasks and another claiming their successors; the
 * database (its commits, not our CPU) is what bounds a worker running short tasks, so halving the
 * statements raises throughput. Both halves keep their own guards: completion by worker and
 * fencing token, the claim by SKIP LOCKED; neither can see or touch the other's rows, since the
 * completed tasks are `processing` and the claim only reads `scheduled`/`retry` ones.
 *
 * The claimed rows travel as row_to_json, because the two halves return different shapes.
 */
const completeAndClaimSql = memoize(
  (namespaces: number) => `
with ${completeCtes({ workerId: '$1', payload: '$2', uids: '$6' })},
${claimCtes({ namespaces: namespaceArray(7, namespaces), tasks: '$3', limit: '$4', workerId: '$1', leaseSeconds: '$5' })}
select uid, null::json as claimed from deleted
union all select uid, null::json from updated
union all select uid, row_to_json(claimed) from claimed
`,
);

export async function completeAndClaim(
  ex: Executor,
  workerId: string,
  items: readonly Omit<Completion, 'workerId'>[],
  next: Omit<ClaimOptions, 'workerId'>,
  opts: { resultsChecked?: boolean } = {},
): Promise<{ completed: Set<string>; claimed: ClaimedTask[] }> {
  const payload = completionPayload(items, opts.resultsChecked);
  const namespaces = [...new Set(next.namespaces)];
  const rows = await run<{ uid: string; claimed: Record<string, unknown> | null }>(
    ex,
    completeAndClaimSql(namespaces.length),
    [
      workerId,
      JSON.stringify(payload),
      [...new Set(next.tasks)],
      Math.max(0, next.limit),
      next.leaseSeconds,
      items.map((i) => i.uid),
      ...namespaces,
    ],
    `eventix_complete_and_claim_n${namespaces.length}`,
  );
  const completed = new Set<string>();
  const claimed: ClaimedTask[] = [];
  for (const r of rows) {
    if (r.claimed) claimed.push(toClaimedTask(rowFromJson(r.claimed)));
    else completed.add(r.uid);
  }
  claimed.sort((a, b) => b.priority - a.priority || a.eta.getTime() - b.eta.getTime());
  return { completed, claimed };
}
