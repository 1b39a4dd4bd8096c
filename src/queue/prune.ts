import { type Executor, run } from '../db/executor.ts';

/**
 * Delete finished tasks past their expiry, a bounded batch at a time so a large backlog never
 * holds locks or bloats one transaction; SKIP LOCKED keeps concurrent pruners out of each other's way.
 */
const PRUNE_SQL = `
with doomed as (
  select id from tasks where expires_at < now() order by expires_at limit $1 for update skip locked
)
delete from tasks t using doomed where t.id = doomed.id
`;

export async function pruneExpired(ex: Executor, limit = 5000): Promise<number> {
  const rows = await run<never>(ex, `${PRUNE_SQL} returning 1`, [limit], 'eventix_prune');
  return rows.length;
}
