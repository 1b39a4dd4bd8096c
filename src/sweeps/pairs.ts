import { COMMIT_STATUSES, type CommitStatus } from '../benchmarks/commits.ts';
import { type Executor, run } from '../queue/executor.ts';

/**
 * The few commit_status statements sweeps need beyond mark/determine/cleanup (src/benchmarks).
 * Every write here is guarded by the owner task's uid, so it can never touch a pair that another
 * task has claimed in the meantime.
 */

/**
 * A pair whose owner task ended in `error` is `failed`, with the task's error and one more
 * attempt. Two callers, one statement:
 *
 * - the benchmark worker's `task:failed` listener, right after the queue decided `error` (the
 *   database's own verdict on "no retries left", so no second copy of the retry rule lives here);
 * - every sweep fire, for the repository it sweeps, before cleanup: it records what no process
 *   lived to record, such as a worker killed during its last attempt, whose task rescue moved to
 *   `error` (lease expired). Without it, cleanup would return such a pair to waiting as if it had
 *   never failed, and a benchmark that always kills its machine would be retried forever.
 *
 * `t.status = 'error'` is the guard: a task in retry still owns its pair (it will run again).
 */
const FAIL_OWNED_SQL = `
update commit_status s set
  status = 'failed',
  attempts = s.attempts + 1,
  error = left(coalesce(t.error ->> 'message', 'the benchmark task failed'), 4000),
  updated_at = now()
from tasks t
where t.uid = s.task_uid and t.status = 'error'
  and s.status in ('in_progress', 'benchmark_complete')
  and ($1::uuid is null or s.task_uid = $1)
  and ($2::text is null or s.repo = $2)
returning s.sha, s.task_uid
`;

export async function failPairsOfErroredTasks(
  ex: Executor,
  scope: { taskUid?: string; repo?: string },
): Promise<{ sha: string; task_uid: string }[]> {
  return run(ex, FAIL_OWNED_SQL, [scope.taskUid ?? null, scope.repo ?? null]);
}

export interface PairState {
  status: CommitStatus;
  taskUid: string | null;
  attempts: number;
}

const PAIR_SQL = `
select s.status, s.task_uid, s.attempts from commit_status s
join benchmark_configs c on c.id = s.config_id
where s.repo = $1 and s.sha = $2 and c.hash = $3 and s.architecture = $4
`;

export async function getPair(
  ex: Executor,
  pair: { repo: string; sha: string; configHash: string; architecture?: string | undefined },
): Promise<PairState | undefined> {
  const [row] = await run<{ status: CommitStatus; task_uid: string | null; attempts: number }>(ex, PAIR_SQL, [
    pair.repo,
    pair.sha,
    pair.configHash,
    pair.architecture ?? '',
  ]);
  return row && { status: row.status, taskUid: row.task_uid, attempts: row.attempts };
}

export type StatusCounts = Record<CommitStatus, number>;

export const emptyCounts = (): StatusCounts => Object.fromEntries(COMMIT_STATUSES.map((s) => [s, 0])) as StatusCounts;

/**
 * Pairs by status for many (repo, config hash, architecture) at once: one statement for the whole
 * GET /sweeps page. The configs are found by hash first, so the count reads the
 * (config_id, status) index, never the whole table.
 */
const COUNTS_SQL = `
with wanted as (
  select w.repo, w.hash, w.architecture, c.id as config_id
  from unnest($1::text[], $2::text[], $3::text[]) as w(repo, hash, architecture)
  join benchmark_configs c on c.hash = w.hash
)
select w.repo, w.hash, w.architecture, s.status, count(*)::int as n
from wanted w join commit_status s on s.config_id = w.config_id and s.repo = w.repo and s.architecture = w.architecture
group by 1, 2, 3, 4
`;

export async function countPairs(
  ex: Executor,
  keys: readonly { repo: string; hash: string; architecture: string }[],
): Promise<Map<string, StatusCounts>> {
  const out = new Map<string, StatusCounts>();
  if (keys.length === 0) return out;
  const rows = await run<{ repo: string; hash: string; architecture: string; status: CommitStatus; n: number }>(ex, COUNTS_SQL, [
    keys.map((k) => k.repo),
    keys.map((k) => k.hash),
    keys.map((k) => k.architecture),
  ]);
  for (const r of rows) {
    const key = pairKey(r.repo, r.hash, r.architecture);
    const counts = out.get(key) ?? emptyCounts();
    counts[r.status] = r.n;
    out.set(key, counts);
  }
  return out;
}

export const pairKey = (repo: string, hash: string, architecture: string) => `${repo}\u0000${hash}\u0000${architecture}`;

const OWNED_SQL = `
select s.id from commit_status s
join benchmark_configs c on c.id = s.config_id
where s.repo = $1 and s.sha = $2 and c.hash = $3 and s.architecture = $4
  and s.task_uid = $5 and s.status in ('in_progress', 'benchmark_complete')
for update of s
`;

/**
 * Inside the transaction that stores a run's results: does `taskUid` still own the pair? The row
 * stays locked until commit, so nobody can take the pair between this check and the final mark.
 */
export async function lockOwnedPair(
  ex: Executor,
  pair: { repo: string; sha: string; configHash: string; architecture?: string | undefined; taskUid: string },
): Promise<boolean> {
  const rows = await run(ex, OWNED_SQL, [pair.repo, pair.sha, pair.configHash, pair.architecture ?? '', pair.taskUid]);
  return rows.length > 0;
}
